/** What the API answers about the audit record (/api/v1/audit, /head, /verify). Schema only. */
import { Type, type Static } from '@sinclair/typebox';
import type { Actor } from './actor.js';

/** An entry as the log holds it; the members beyond these are listed in docs/audit.md ("What is in it"). */
export const AuditEntryView = Type.Object(
  { seq: Type.Integer(), ts: Type.String(), prev: Type.String(), type: Type.String(), outcome: Type.String() },
  { additionalProperties: true },
);
/** The members an entry has where they apply (carried by additionalProperties above). */
export type AuditEntryView = Static<typeof AuditEntryView> & {
  actor?: Actor;
  client?: string;
  requestId?: string;
  clientRequestId?: string;
  method?: string;
  route?: string;
  status?: number;
  scope?: string;
  code?: string;
  headers?: Record<string, string>;
  detail?: Record<string, unknown>;
  mac?: string;
};

export const AuditPage = Type.Object({ entries: Type.Array(AuditEntryView), next: Type.Union([Type.Integer(), Type.Null()]) });
export type AuditPage = Omit<Static<typeof AuditPage>, 'entries'> & { entries: AuditEntryView[] };

const Link = Type.Object({ seq: Type.Integer(), hash: Type.String() });
export const AuditHead = Type.Object({
  ...Link.properties,
  security: Type.Optional(Type.Object(Link.properties, { description: 'The head of the security chain (security/)' })),
});
export type AuditHead = Static<typeof AuditHead>;
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

export const AuditVerification = Type.Object({
  ...ChainVerification,
  security: Type.Object(ChainVerification, { description: 'The security chain (security/): security events with their own retention' }),
  keyFile: Type.String(),
  anchorFile: Type.String(),
  publicKey: Type.Union([Type.String(), Type.Null()], { description: 'Ed25519 public key (base64) that checks the anchors' }),
  head: Type.Optional(AuditHead),
});
export type AuditVerification = Static<typeof AuditVerification>;
