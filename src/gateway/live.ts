/**
 * The parts of a running gateway that take live configuration changes, each refusing what the boot
 * would refuse, for the same reason: the boot matrix and notification topic, the guards (Host,
 * Origin, rate limits and the bound of the lockout's records), the egress policy, hooks and
 * triggers, tools and mounts, and the services.
 */
import { bootPosture, type BootPosture } from '../config/bind.js';
import type { Reconfigurable } from '../config/live.js';
import type { Config } from '../config/schema.js';
import { checkNtfyTopic } from '../domain/jobs/ntfy-topic.js';
import { checkDeclaredServices } from '../domain/services/index.js';
import { checkContainerHost } from '../domain/supervisor/container-host.js';
import { GatewayError } from '../errors.js';
import type { Toolbox } from '../domain/tools/toolbox.js';
import { compileEgressPolicy } from '../egress/index.js';
import type { Guards } from '../http/pipeline.js';
import type { Logger } from '../observe/logger.js';
import { hostGuard } from '../security/host-guard.js';
import { originGuard } from '../security/origin-guard.js';
import { rateLimit, rateLimitOptions } from '../security/rate-limit.js';
import type { House } from './house.js';
import type { GatewayUrls } from './urls.js';

export interface LiveContext {
  guards: Guards;
  posture: BootPosture;
  /** The port listened on (live changes come in through requests, so after the listener is up). */
  urls: GatewayUrls;
  house: House;
  toolbox: Toolbox;
  log: Logger;
}

export function liveParts(ctx: LiveContext): Reconfigurable[] {
  const { guards, house } = ctx;
  const hostOptions = (c: Readonly<Config>) => ({
    bindHost: c.host,
    bindClass: ctx.posture.bindClass,
    port: ctx.urls.port,
    tls: ctx.posture.tls,
    publicNames: c.publicNames,
  });
  return [
    {
      name: 'boot matrix',
      prepare: (next) => {
        bootPosture(next);
        checkNtfyTopic(next.notifications.ntfy?.topic, next.notifications.ntfy);
        return () => undefined;
      },
    },
    {
      name: 'guards',
      prepare: (next) => {
        // Built once to check them (config_invalid); the running guards swap in the same options.
        hostGuard(hostOptions(next));
        originGuard({ allowedOrigins: next.allowedOrigins });
        rateLimit(rateLimitOptions(next.rateLimit));
        return () => {
          guards.host.reconfigure(hostOptions(next));
          guards.origin.reconfigure({ allowedOrigins: next.allowedOrigins });
          guards.rateLimit.reconfigure(rateLimitOptions(next.rateLimit));
          // rateLimit.maxClients bounds the lockout's records too (lockout's own keys need a restart).
          guards.lockout.reconfigure({ ...next.lockout, maxClients: next.rateLimit.maxClients });
        };
      },
    },
    {
      name: 'egress',
      prepare: (next) => {
        compileEgressPolicy(next.egress);
        return () => house.egress.reconfigure();
      },
    },
    { name: 'hooks and triggers', prepare: (next) => house.hooks.prepare(next) },
    { name: 'tools and mounts', prepare: (next) => ctx.toolbox.prepare(next) },
    {
      // The live services only: the config file's are read-only (the loader keeps them as they are),
      // and the others pass the same rules as POST /api/v1/services (api-rules.ts).
      name: 'services',
      prepare: (next, previous, actor) => {
        const defs = house.supervisor.checkRuntime(next.services);
        checkDeclaredServices(next.services);
        if (JSON.stringify(next.services) === JSON.stringify(previous.services)) return () => undefined;
        refuseLiveContainers(next.services, previous.services);
        checkContainerHost(defs, { socket: next.supervisor.containers.socket, dataDir: next.dataDir });
        return () => {
          house.supervisor.applyRuntime(defs, actor).catch((err: unknown) => ctx.log.error({ err }, 'applying the changed services failed'));
        };
      },
    },
  ];
}

/**
 * A live change (PATCH /api/v1/config) may not add or change a container service: the engine's
 * socket is root-equivalent, so containers are the config file's alone, whatever
 * supervisor.allowApiCommands says. Removing one is allowed (it only stops it).
 */
function refuseLiveContainers(next: Readonly<Config>['services'], previous: Readonly<Config>['services']): void {
  const before = new Map(previous.map((s) => [s.name, JSON.stringify(s)]));
  for (const s of next) {
    const was = before.get(s.name);
    const wasContainer = was !== undefined && (JSON.parse(was) as { kind?: string }).kind === 'container';
    if ((s.kind === 'container' || wasContainer) && was !== JSON.stringify(s)) {
      throw new GatewayError(
        'service_container_refused',
        `services: ${JSON.stringify(s.name)}: container services are declared in the config file only, never through the API`,
      );
    }
  }
}
