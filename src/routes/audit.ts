/** /api/v1/audit: read the chain by sequence number, its head, and a verification. Admin only. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { RouteDeps } from './deps.js';

const Query = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

const Entry = Type.Object({ seq: Type.Integer(), ts: Type.String(), prev: Type.String(), type: Type.String(), outcome: Type.String() }, { additionalProperties: true });
const Link = Type.Object({ seq: Type.Integer(), hash: Type.String() });
const Head = Type.Object({ ...Link.properties, security: Type.Optional(Type.Object(Link.properties, { description: 'The head of the security chain (security/)' })) });
const Place = Type.Object({ file: Type.String(), line: Type.Integer() });

const ChainVerification = {
  ok: Type.Boolean(),
  files: Type.Array(Type.String()),
  entries: Type.Integer(),
  firstSeq: Type.Integer(),
  lastSeq: Type.Integer(),
  lastHash: Type.String(),
  anchor: Type.Object({ seq: Type.Integer(), prev: Type.String() }, { description: 'Where the kept chain starts (older files were pruned)' }),
  broken: Type.Optional(Type.Object({ ...Place.properties, reason: Type.String() }, { description: 'The first broken link' })),
  partialTail: Type.Optional(Type.Object({ ...Place.properties, bytes: Type.Integer() })),
  headChecked: Type.Boolean(),
  keyed: Type.Object(
    {
      key: Type.Union([Type.String(), Type.Null()]),
      keyedFrom: Type.Union([Type.Integer(), Type.Null()]),
      unkeyed: Type.Union([Type.Object({ firstSeq: Type.Integer(), lastSeq: Type.Integer() }), Type.Null()]),
    },
    { description: 'Entries carry a mac under the chain key from keyedFrom on; unkeyed: the legacy stretch before it' },
  ),
  anchors: Type.Object(
    { checked: Type.Integer(), newest: Type.Union([Type.Object({ seq: Type.Integer(), ts: Type.String() }), Type.Null()]) },
    { description: 'Signed head anchors (outside the data dir) compared with the log' },
  ),
  notes: Type.Array(Type.String()),
};

const Verification = Type.Object({
  ...ChainVerification,
  security: Type.Object(ChainVerification, { description: 'The security chain (security/): security events with their own retention' }),
  keyFile: Type.String(),
  anchorFile: Type.String(),
  publicKey: Type.Union([Type.String(), Type.Null()], { description: 'Ed25519 public key (base64) that checks the anchors' }),
  head: Type.Optional(Head),
});

export function auditRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'audit'>): void {
  app.get(
    '/api/v1/audit',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Audit entries after a sequence number',
        tags: ['audit'],
        querystring: Query,
        response: { 200: Type.Object({ entries: Type.Array(Entry), next: Type.Union([Type.Integer(), Type.Null()]) }) },
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
      schema: { summary: 'Sequence and hash of the newest entry written (compare with the files)', tags: ['audit'], response: { 200: Head } },
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
        response: { 200: Verification },
      },
    },
    async () => deps.audit.verify(),
  );
}
