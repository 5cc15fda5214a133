// Bench-only server: a real Moat gateway (dist/) on 127.0.0.1 with its audit log, or, with
// --without-audit, with the audit sink replaced by a no-op through the internal option
// unsafeAuditSinkForBenchmarks (not a config key, env variable or flag: only this script passes it).
// Both variants run this same script, so the audit sink is the only difference between them.
import { createGateway } from '../../dist/gateway.js';

const [dataDir, mode] = process.argv.slice(2);
const noop = { record() {}, hasCapacity: () => true };
const gw = createGateway({
  values: {
    dataDir,
    port: 0,
    logLevel: 'error',
    rateLimit: { general: { perMinute: 1_000_000_000 } },
    audit: { maxQueue: 1_000_000, keyFile: process.env.MOAT_AUDIT_KEY_FILE },
  },
  ...(mode === '--without-audit' ? { unsafeAuditSinkForBenchmarks: noop } : {}),
});
await gw.start();
process.stdout.write(`moat listening on ${gw.url}\n`);
process.on('SIGTERM', () => gw.stop().then(() => process.exit(0)));
