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
    args: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'The tool\'s arguments (GET /api/v1/tools describes them).' })),
  },
  { additionalProperties: false },
);

export function toolRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'tools' | 'toolsBodyLimit'>): void {
  app.get(
    '/api/v1/tools',
    { config: { scope: 'tools' }, schema: { summary: 'Tools with their risk and whether this token may call them', tags: ['tools'], response: { 200: ToolList } } },
    async (req) => deps.tools.list(scopeAllows(req.moat.principal?.scopes ?? new Set(), 'tools', 'POST')),
  );
  app.post(
    '/api/v1/tools/invoke',
    {
      config: { scope: 'tools' },
      // Large enough for an fs.write of tools.maxWriteBytes as base64.
      bodyLimit: deps.toolsBodyLimit,
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
