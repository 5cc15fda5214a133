/** What the API answers about the egress guard (/api/v1/egress/check), and the purposes of outbound requests. Schema only. */
import { Type, type Static } from '@sinclair/typebox';

/** The purposes of an outbound request, each with its own policy. */
export const EGRESS_PURPOSE_NAMES = ['callback', 'notify', 'fetch', 'forward'] as const;

export const EgressPurpose = Type.Union(
  EGRESS_PURPOSE_NAMES.map((p) => Type.Literal(p)),
  { description: 'Whose policy applies (egress.purposes.<purpose>). Default: callback.' },
);

export const EgressCheck = Type.Object({
  allowed: Type.Boolean(),
  reason: Type.String({ description: 'allowed, allowed_by_exception, or why not: loopback, private, metadata, unresolvable, unparseable, ...' }),
  addresses: Type.Array(Type.String(), { description: 'What the host resolved to (or the literal), each one checked.' }),
  rule: Type.Union([Type.String(), Type.Null()], { description: 'The rule that decided, e.g. 127.0.0.0/8 or allowCidrs 10.0.0.0/8; null for the default.' }),
  purpose: EgressPurpose,
});
export type EgressCheck = Static<typeof EgressCheck>;
