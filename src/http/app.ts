/**
 * Builds the Fastify application: our listener, request ids, the guard pipeline compiled onto every
 * route (a route without a scope or a response schema is refused at registration), the problem
 * handler, the OpenAPI generator, and the routes. Does not listen.
 */
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { requestId } from '../observe/request-id.js';
import { registerRoutes, type RouteDeps } from '../routes/index.js';
import type { Pipeline } from './pipeline.js';
import { routePolicy } from './pipeline.js';
import { problemHandler } from './problem.js';
import type { Listener } from './server.js';

export interface AppOptions {
  listener: Listener;
  pipeline: Pipeline;
  log: Logger;
  bodyLimit: number;
  tls: boolean;
  version: string;
  routes: Omit<RouteDeps, 'openapi'>;
}

/** Policy for requests that match no route: the full chain with authentication, then 404. */
const NOT_FOUND_POLICY = { auth: 'bearer', scope: 'read', rateClass: 'general', write: false, drainExempt: false } as const;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const onError = problemHandler({ onProblem: opts.pipeline.onProblem });
  const app = Fastify({
    loggerInstance: opts.log,
    // Requests are not logged one by one (refusals and failures are, by the pipeline), and no
    // child logger is made per request: the request id is put in each line explicitly.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    childLoggerFactory: (logger: Logger) => logger,
    genReqId: (req: IncomingMessage) => requestId(req.headers['x-request-id']),
    requestIdHeader: false,
    bodyLimit: opts.bodyLimit,
    return503OnClosing: false,
    forceCloseConnections: false,
    serverFactory: opts.listener.factory,
    ...(opts.tls ? { http2: true as const, https: { allowHTTP1: true } } : {}),
    trustProxy: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => onError(err, req, reply),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  app.decorateRequest('moat', null as never);

  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as { raw?: boolean };
    if (!config.raw && !route.schema?.response) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no response schema`);
    }
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [opts.pipeline.forRoute(routePolicy(route)), ...existing];
  });
  app.addHook('onResponse', opts.pipeline.auditWrite);
  app.setErrorHandler(onError);
  app.setNotFoundHandler((req, reply) => {
    if (opts.pipeline.run(NOT_FOUND_POLICY, req, reply)) return;
    throw new GatewayError('not_found', 'no such route');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Moat gateway API', version: opts.version, description: 'Every route but GET /api/v1/health needs Authorization: Bearer <token>.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  registerRoutes(app, { ...opts.routes, openapi: () => app.swagger() });
  await app.ready();
  return app;
}
