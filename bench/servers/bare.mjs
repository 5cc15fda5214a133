// Baseline: a bare Fastify route returning the same JSON shape as GET /api/v1/status, no guards.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
if (process.env.BARE_HEADERS === '1') {
  // The same response headers the gateway sends on every answer, set the usual Fastify way: this
  // baseline separates what the headers cost from what the guard chain costs.
  let n = 0;
  const headers = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store', 'x-frame-options': 'DENY' };
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(headers);
    reply.header('x-request-id', `r-${++n}`);
    done();
  });
}
const Status = {
  type: 'object',
  properties: {
    version: { type: 'string' },
    bind: { type: 'object', properties: { address: { type: 'string' }, port: { type: 'integer' }, class: { type: 'string' } } },
    tls: { type: 'object', properties: { enabled: { type: 'boolean' }, fingerprint: { type: ['string', 'null'] } } },
    auth: { type: 'object', properties: { enabled: { type: 'boolean' } } },
    uptimeSeconds: { type: 'number' },
  },
};
const started = Date.now();
app.get('/api/v1/status', { schema: { response: { 200: Status } } }, async () => ({
  version: '0.1.0',
  bind: { address: '127.0.0.1', port: 1, class: 'loopback' },
  tls: { enabled: false, fingerprint: null },
  auth: { enabled: true },
  uptimeSeconds: Math.round((Date.now() - started) / 1000),
}));
app.post('/api/v1/echo', { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening on http://127.0.0.1:${app.server.address().port}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
