/** /api/v1/audit: read the chain by sequence number, its head, and a verification. Admin only. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { AuditHead, AuditPage, AuditVerification } from '../api/audit.js';
import type { RouteDeps } from './deps.js';

const Query = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export function auditRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'audit'>): void {
  app.get(
    '/api/v1/audit',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Audit entries after a sequence number',
        tags: ['audit'],
        querystring: Query,
        response: { 200: AuditPage },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof Query>;
      const limit = q.limit ?? 100;
      const entries = (await deps.audit.read(q.after ?? 0, limit)) as Array<{ seq: number }>;
      const last = entries[entries.length - 1];
      return { entries, next: entries.length === limit && last ? last.seq : null };
    },
  );
  app.get(
    '/api/v1/audit/head',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Sequence and hash of the newest entry written (compare with the files)', tags: ['audit'], response: { 200: AuditHead } },
    },
    async () => deps.audit.head(),
  );
  app.get(
    '/api/v1/audit/verify',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "Walk the hash chain across rotations and compare its end with this gateway's head",
        tags: ['audit'],
        response: { 200: AuditVerification },
      },
    },
    async () => deps.audit.verify(),
  );
}
