/** /api/v1/tools: the tool list with risk and what this token may call, and POST /api/v1/tools/invoke. Scope tools. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ToolList, ToolResult } from '../api/runs.js';
import { scopeAllows } from '../crypto/scopes.js';
import { callContextOf } from './actor.js';
import type { RouteDeps } from './deps.js';

const InvokeBody = Type.Object(
  {
    run: Type.String({ minLength: 1, maxLength: 128, description: 'The run whose workspace the tool works in.' }),
    tool: Type.String({ minLength: 1, maxLength: 64 }),
    args: Type.Optional(Type.Object({}, { additionalProperties: true, description: "The tool's arguments (GET /api/v1/tools describes them)." })),
  },
  { additionalProperties: false },
);

/**
 * The body cap of POST /api/v1/tools/invoke for a given tools.maxWriteBytes: an fs.write of that
 * size arrives base64-encoded inside JSON, with room for the rest of the body.
 */
export function invokeBodyLimit(maxBodyBytes: number, maxWriteBytes: number): number {
  return Math.max(maxBodyBytes, Math.ceil(maxWriteBytes / 3) * 4 + 65_536);
}

export function toolRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'tools' | 'toolsBodyLimit'>): void {
  app.get(
    '/api/v1/tools',
    {
      config: { scope: 'tools' },
      schema: { summary: 'Tools with their risk and whether this token may call them', tags: ['tools'], response: { 200: ToolList } },
    },
    async (req) => deps.tools.list(scopeAllows(req.moat.principal?.scopes ?? new Set(), 'tools', 'POST')),
  );
  app.post(
    '/api/v1/tools/invoke',
    {
      // Large enough for an fs.write of tools.maxWriteBytes as base64: tools is a live key, so the cap
      // in force is read per request (liveBodyLimit); Fastify's bodyLimit is the ceiling of any value.
      config: { scope: 'tools', liveBodyLimit: deps.toolsBodyLimit.now },
      bodyLimit: deps.toolsBodyLimit.ceiling,
      schema: {
        summary: 'Invoke a tool in a run',
        tags: ['tools'],
        body: InvokeBody,
        response: { 200: ToolResult },
      },
    },
    async (req) => {
      const body = req.body as Static<typeof InvokeBody>;
      return deps.tools.invoke({ run: body.run, tool: body.tool, args: body.args ?? {} }, callContextOf(req));
    },
  );
}
