/**
 * The OpenAPI document (GET /api/v1/openapi.json), built from the declared routes on its first
 * request rather than at boot: @fastify/swagger (with yaml and a schema resolver, ~100 files) only
 * loads when someone asks. The routes are replayed, schemas and all, into a throwaway Fastify
 * instance carrying the swagger plugin; handlers there are never called and nothing listens.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { PROBLEM_RESPONSES } from '../api/problem.js';

interface OpenApiDoc {
  paths?: Record<string, Record<string, { responses?: Record<string, unknown>; security?: unknown[] }>>;
}

/** Every operation may answer with a problem document; the health route needs no token. */
function withProblemResponses(doc: OpenApiDoc): OpenApiDoc {
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      op.responses = { ...op.responses, ...PROBLEM_RESPONSES };
      if (path === '/api/v1/health') op.security = [];
    }
  }
  return doc;
}

type DeclaredRouteOptions = Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config' | 'constraints'>;

export class OpenApi {
  private readonly routes: DeclaredRouteOptions[] = [];
  private document: Promise<unknown> | null = null;

  constructor(private readonly version: string) {}

  /** Called for every route at registration (Fastify's own HEAD twins are not documented). */
  declare(route: RouteOptions): void {
    if (route.method === 'HEAD') return;
    const { method, url, schema, config, constraints } = route;
    this.routes.push({ method, url, ...(schema ? { schema } : {}), ...(config ? { config } : {}), ...(constraints ? { constraints } : {}) });
  }

  /** The document, built once. */
  get(): Promise<unknown> {
    this.document ??= this.build().catch((err: unknown) => {
      this.document = null;
      throw err;
    });
    return this.document;
  }

  private async build(): Promise<unknown> {
    const [{ default: Fastify }, { default: swagger }] = await Promise.all([import('fastify'), import('@fastify/swagger')]);
    // Schemas are not compiled here: the document only reads them.
    const noCompile = { buildValidator: () => () => () => true, buildSerializer: () => () => (data: unknown) => JSON.stringify(data) };
    const app = Fastify({ exposeHeadRoutes: false, schemaController: { compilersFactory: noCompile } } as Parameters<
      typeof Fastify
    >[0]) as unknown as FastifyInstance;
    try {
      await app.register(swagger, {
        openapi: {
          openapi: '3.1.0',
          info: { title: 'Moat gateway API', version: this.version, description: 'Every route but GET /api/v1/health needs Authorization: Bearer <token>.' },
          components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
          security: [{ bearer: [] }],
        },
        transformObject: (doc) => withProblemResponses((doc as { openapiObject: OpenApiDoc }).openapiObject),
      });
      for (const route of this.routes) app.route({ ...route, handler: async () => null } as RouteOptions);
      await app.ready();
      return app.swagger();
    } finally {
      await app.close();
    }
  }
}
