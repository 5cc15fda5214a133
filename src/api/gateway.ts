/** What the API answers about the gateway itself: health, status, the OpenAPI document, its configuration and the doctor. Schema only. */
import { Type, type Static } from '@sinclair/typebox';

export const Health = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('draining')]) });
export type Health = Static<typeof Health>;

export const Status = Type.Object({
  version: Type.String(),
  bind: Type.Object({ address: Type.String(), port: Type.Integer(), class: Type.String() }),
  tls: Type.Object({ enabled: Type.Boolean(), fingerprint: Type.Union([Type.String(), Type.Null()]) }),
  auth: Type.Object({ enabled: Type.Boolean() }),
  uptimeSeconds: Type.Number(),
});
export type Status = Static<typeof Status>;

/** Any JSON object (the OpenAPI document; a configuration patch). */
export const AnyObject = Type.Object({}, { additionalProperties: true });

export const ConfigView = Type.Object({
  config: Type.Object({}, { additionalProperties: true }),
  sources: Type.Record(Type.String(), Type.String(), { description: 'default | file | env | flag | runtime, by dotted key' }),
});
export type ConfigView = Static<typeof ConfigView>;

const Severity = Type.Union([Type.Literal('ok'), Type.Literal('warn'), Type.Literal('fail')]);
export type Severity = Static<typeof Severity>;

const Finding = Type.Object({
  id: Type.String({ description: 'Stable check id (docs/doctor.md)' }),
  severity: Severity,
  finding: Type.String({ description: 'What the check found, in one line' }),
  fix: Type.String({ description: 'What to do about it (or "none needed")' }),
  fixable: Type.Boolean({ description: 'moat doctor --fix (POST /api/v1/doctor/fix) repairs it' }),
});

export const DoctorReport = Type.Object({
  verdict: Severity,
  checkedAt: Type.String(),
  running: Type.Boolean({ description: 'False when only the data dir was checked (no gateway running)' }),
  checks: Type.Array(Finding),
  skipped: Type.Array(Type.Object({ id: Type.String(), reason: Type.String() })),
});
export type DoctorReport = Static<typeof DoctorReport>;

export const DoctorFixReport = Type.Object({
  actions: Type.Array(Type.Object({ id: Type.String(), action: Type.String(), ok: Type.Boolean() }), { description: 'Each repair attempted, in order' }),
  report: DoctorReport,
});
export type DoctorFixReport = Static<typeof DoctorFixReport>;
