/**
 * The house's domain API, for routes and for other domain areas (jobs dispatch to services):
 * the registry, the supervisor, the reverse proxy and the types they speak.
 */
export { ServiceRegistry, checkDeclaredServices, type ServiceRecord } from './registry.js';
export { apiRules, checkApiService, type ApiCaller, type ApiRules } from './api-rules.js';
export { UpstreamHeaders, withUpstreamHeaders } from './upstream-headers.js';
export { ServiceProxy, type ForwardRequest, type ProxyWriter } from './proxy.js';
export { checkService, targetOf, type ServiceDefinition, type ServiceKind, type ServiceSource, type ServiceSpec } from './spec.js';
export { Supervisor, type SupervisorOptions } from '../supervisor/supervisor.js';
export type { ServiceEvent } from '../supervisor/unit.js';
export type { ServiceState, ServiceStatus } from '../supervisor/status.js';
export type { LogLine } from '../supervisor/log-capture.js';
