/** GET /api/v1/doctor (run every check) and POST /api/v1/doctor/fix (repair what is safe). Admin only. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';

const Severity = Type.Union([Type.Literal('ok'), Type.Literal('warn'), Type.Literal('fail')]);

const Finding = Type.Object({
  id: Type.String({ description: 'Stable check id (docs/doctor.md)' }),
  severity: Severity,
  finding: Type.String({ description: 'What the check found, in one line' }),
  fix: Type.String({ description: 'What to do about it (or "none needed")' }),
  fixable: Type.Boolean({ description: 'moat doctor --fix (POST /api/v1/doctor/fix) repairs it' }),
});

export const DoctorReportSchema = Type.Object({
  verdict: Severity,
  checkedAt: Type.String(),
  running: Type.Boolean({ description: 'False when only the data dir was checked (no gateway running)' }),
  checks: Type.Array(Finding),
  skipped: Type.Array(Type.Object({ id: Type.String(), reason: Type.String() })),
});

const FixReportSchema = Type.Object({
  actions: Type.Array(Type.Object({ id: Type.String(), action: Type.String(), ok: Type.Boolean() }), { description: 'Each repair attempted, in order' }),
  report: DoctorReportSchema,
});

export function doctorRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'doctor'>): void {
  app.get(
    '/api/v1/doctor',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Run every doctor check on this gateway (posture, credentials, files, policy, audit, activity)', tags: ['doctor'], response: { 200: DoctorReportSchema } },
    },
    async () => deps.doctor.run(),
  );
  app.post(
    '/api/v1/doctor/fix',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Repair what is safe to repair (file modes, the admin token file, an expiring self-signed certificate), then check again',
        tags: ['doctor'],
        response: { 200: FixReportSchema },
      },
    },
    async (req) => deps.doctor.fix(actorOf(req)),
  );
}
