/**
 * Builds the Fastify application: our listener, request ids, the guard pipeline compiled onto every
 * route (a route without a scope or a response schema is refused at registration), the problem
 * handler (and its raw-socket twin for requests Node's parser refuses), the body parsers (JSON
 * only, depth-checked) and the body-idle cut-off of the routes without a bearer token, the OpenAPI
 * generator, and the routes. Does not listen.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { requestId } from '../observe/request-id.js';
import type { RequestMetrics } from '../observe/request-metrics.js';
import { eventsUpgrade, proxyUpgrade, registerRoutes, type RouteDeps } from '../routes/index.js';
import { bodyIdleTimeout, installJsonParser, liveBodyLimit } from './body-guards.js';
import { clientErrorHandler } from './client-error.js';
import { OpenApi } from './openapi.js';
import type { Pipeline } from './pipeline.js';
import { routePolicy, type RoutePolicy } from './route-policy.js';
import { problemHandler, validationError } from './problem.js';
import type { AjvLikeError } from './validation-detail.js';
import { serializerCompiler, validatorCompiler } from './schema-compilers.js';
import type { Listener } from './server.js';
import { attachUpgrades } from './ws.js';

/** A registered route and its declared policy (for tests and doctor). */
export interface DeclaredRoute {
  method: string;
  url: string;
  auth: string;
  scope: string | null;
}

export interface AppOptions {
  listener: Listener;
  pipeline: Pipeline;
  log: Logger;
  bodyLimit: number;
  /** Deepest JSON nesting a body may have (limits.maxJsonDepth). */
  maxJsonDepth: number;
  /** Longest pause in a body on the routes without a bearer token (limits.bodyIdleTimeoutMs). */
  bodyIdleTimeoutMs: number;
  tls: boolean;
  version: string;
  /** Requests by route and status, and their latency: each route gets its slots at registration. */
  requests: RequestMetrics;
  routes: Omit<RouteDeps, 'openapi'>;
}

/** Policy for requests that match no route: the full chain with authentication, then 404. */
const NOT_FOUND_POLICY = {
  auth: 'bearer',
  scope: 'read',
  rateClass: 'general',
  write: false,
  drainExempt: false,
  budget: 'principal',
  cookie: false,
  signin: false,
  console: false,
} as const satisfies Partial<RoutePolicy>;

function hooks<T>(h: T | T[] | undefined): T[] {
  return h === undefined ? [] : Array.isArray(h) ? h : [h];
}

/** The application and every route it registered, with its declared policy. */
export interface BuiltApp {
  app: FastifyInstance;
  routes: readonly DeclaredRoute[];
}

export async function buildApp(opts: AppOptions): Promise<BuiltApp> {
  const onError = problemHandler({ onProblem: opts.pipeline.onProblem });
  const app = Fastify({
    // Fastify's own per-request logging is off (a child logger per request costs ~1 us): the
    // pipeline logs refusals and the problem handler logs failures, each with the request id.
    logger: false,
    genReqId: () => requestId(),
    requestIdHeader: false,
    bodyLimit: opts.bodyLimit,
    return503OnClosing: false,
    forceCloseConnections: false,
    serverFactory: opts.listener.factory,
    ...(opts.tls ? { http2: true as const, https: { allowHTTP1: true } } : {}),
    trustProxy: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 256 },
    // Our compilers from the start: Fastify's defaults (Ajv and its compiler) are never loaded.
    schemaController: { compilersFactory: { buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler } },
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => onError(err, req, reply),
    schemaErrorFormatter: (errors: AjvLikeError[], context: string) => validationError(errors, context),
    // Requests Node refuses while parsing them (431, 400, 408) get a problem document too, not Fastify's JSON.
    clientErrorHandler: clientErrorHandler({ pipeline: opts.pipeline, log: opts.log }),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  // JSON routes take JSON only: Fastify's default text/plain parser would hand a string to the
  // schema (400 validation_failed) where any other type is 415. Routes that take raw bodies (hook
  // deliveries, the proxy, action links) register their own parsers in their own scope.
  app.removeContentTypeParser('text/plain');
  installJsonParser(app, opts.maxJsonDepth);
  const bodyIdle = bodyIdleTimeout(opts.bodyIdleTimeoutMs);

  app.decorateRequest('moat', null as never);

  const declared: DeclaredRoute[] = [];
  const openapi = new OpenApi(opts.version);
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as { raw?: boolean; liveBodyLimit?: () => number };
    if (!config.raw && !route.schema?.response) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no response schema`);
    }
    openapi.declare(route);
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String);
    const policy = routePolicy(route, opts.requests.slotsFor(route.url, methods));
    for (const method of methods) {
      declared.push({ method: String(method), url: route.url, auth: policy.auth, scope: scopeLabel(policy.scope) });
    }
    // The pipeline also hooks the response of write routes for their audit record.
    route.onRequest = [opts.pipeline.forRoute(policy), ...hooks(route.onRequest)];
    if (policy.budget === 'unauthenticated') route.preParsing = [bodyIdle, ...hooks(route.preParsing)];
    // A cap that follows a live key (the route's bodyLimit is then its ceiling).
    if (config.liveBodyLimit) route.preParsing = [...hooks(route.preParsing), liveBodyLimit(config.liveBodyLimit)];
  });
  app.setErrorHandler(onError);
  const notFound: RoutePolicy = { ...NOT_FOUND_POLICY, slot: opts.requests.unmatched.slot, slotByMethod: opts.requests.unmatched.byMethod };
  app.setNotFoundHandler((req, reply) => {
    if (opts.pipeline.run(notFound, req, reply)) return;
    opts.pipeline.auditUnknownWrite(req);
    throw new GatewayError('not_found', 'no such route');
  });

  registerRoutes(app, { ...opts.routes, openapi: () => openapi.get() });
  await app.ready();
  attachUpgrades(app.server, {
    pipeline: opts.pipeline,
    log: opts.log,
    openStream: opts.pipeline.openStream,
    proxy: proxyUpgrade(opts.routes),
    events: eventsUpgrade(opts.routes),
  });
  return { app, routes: Object.freeze(declared) };
}

/** How a route's scope requirement is listed (the gateway's routes, the route x scope matrix). */
function scopeLabel(scope: RoutePolicy['scope']): string | null {
  if (scope === undefined) return null;
  if (typeof scope === 'function') return 'dynamic';
  if (Array.isArray(scope)) return scope.join('|');
  if (typeof scope === 'object' && 'authenticated' in scope) return 'authenticated';
  if (typeof scope === 'object' && 'exact' in scope) return `${scope.exact} (not read)`;
  return scope as string;
}
