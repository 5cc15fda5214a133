/** GET /api/v1/doctor (run every check) and POST /api/v1/doctor/fix (repair what is safe). Admin only. */
import type { FastifyInstance } from 'fastify';
import { DoctorFixReport, DoctorReport } from '../api/gateway.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';

export function doctorRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'doctor'>): void {
  app.get(
    '/api/v1/doctor',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Run every doctor check on this gateway (posture, credentials, files, policy, audit, activity)',
        tags: ['doctor'],
        response: { 200: DoctorReport },
      },
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
        response: { 200: DoctorFixReport },
      },
    },
    async (req) => deps.doctor.fix(actorOf(req)),
  );
}
