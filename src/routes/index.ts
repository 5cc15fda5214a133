/** Registers every resource's routes. Each file declares its scope, schemas and rate class. */
import type { FastifyInstance } from 'fastify';
import { auditRoutes } from './audit.js';
import { callbackRoutes } from './callbacks.js';
import { configRoutes } from './config.js';
import { doctorRoutes } from './doctor.js';
import { metricsRoutes } from './metrics.js';
import { eventRoutes } from './events.js';
import { jobRoutes } from './jobs.js';
import { scheduleRoutes } from './schedules.js';
import type { RouteDeps } from './deps.js';
import { egressRoutes } from './egress.js';
import { healthRoutes } from './health.js';
import { pairingRoutes } from './pairing.js';
import { runRoutes } from './runs.js';
import { proxyRoutes } from './proxy.js';
import { serviceRoutes } from './services.js';
import { statusRoutes } from './status.js';
import { tokenRoutes } from './tokens.js';
import { toolRoutes } from './tools.js';
import { workspaceRoutes } from './workspace.js';
import { hookRoutes } from './hooks.js';
import { hookDeliveryRoutes } from './hook-deliveries.js';
import { triggerRoutes } from './triggers.js';
import { taskRoutes } from './tasks.js';
import { actionRoutes } from './actions.js';

export type { LiveConfigView, RouteDeps, StatusView } from './deps.js';
export { PROXY_ROUTE_CONFIG, PROXY_URL, proxyUpgrade, type UpgradeContext } from './proxy.js';
export { EVENTS_WS_CONFIG, EVENTS_WS_URL, WS_BEARER_PREFIX, eventsUpgrade, type EventsUpgradeContext } from './events.js';

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  healthRoutes(app, deps);
  statusRoutes(app, deps);
  tokenRoutes(app, deps);
  pairingRoutes(app, deps);
  auditRoutes(app, deps);
  jobRoutes(app, deps);
  scheduleRoutes(app, deps);
  eventRoutes(app, deps);
  callbackRoutes(app, deps);
  configRoutes(app, deps);
  egressRoutes(app, deps);
  runRoutes(app, deps);
  toolRoutes(app, deps);
  workspaceRoutes(app, deps);
  serviceRoutes(app, deps);
  proxyRoutes(app, deps);
  hookRoutes(app, deps);
  hookDeliveryRoutes(app, deps);
  triggerRoutes(app, deps);
  taskRoutes(app, deps);
  actionRoutes(app, deps);
  doctorRoutes(app, deps);
  metricsRoutes(app, deps);
}
