/**
 * The separate path to the operator's own registered services: no client-facing policy (loopback
 * is where services live), but the same size and time caps, and no redirect followed.
 */
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpServer, makeEgress, type Listening } from '../helpers/egress.js';

let svc: Listening<http.Server>;
beforeAll(async () => {
  svc = await httpServer('127.0.0.1', (req, res) => {
    if (req.url === '/health') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (req.url === '/moved') return res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    if (req.url === '/big') return res.writeHead(200).end(Buffer.alloc(4096));
    if (req.url === '/hang') return;
    res.writeHead(404).end();
  });
});
afterAll(() => svc.close());

const { egress } = makeEgress();
afterAll(() => egress.stop());
const base = () => `http://127.0.0.1:${svc.port}`;

describe('egress.services (registered services only)', () => {
  it('reaches a service on loopback, which client-facing policy denies', async () => {
    const r = await egress.services.request({ url: `${base()}/health` });
    expect(r).toMatchObject({ status: 200, url: `${base()}/health` });
    expect(JSON.parse(r.body.toString())).toEqual({ ok: true });
    await expect(egress.request({ url: `${base()}/health`, purpose: 'fetch' })).rejects.toMatchObject({ code: 'egress_denied' });
  });

  it('returns a redirect as it is, never following it', async () => {
    const r = await egress.services.request({ url: `${base()}/moved` });
    expect(r.status).toBe(302);
    expect(r.headers['location']).toBe('http://169.254.169.254/');
  });

  it('caps size and time', async () => {
    await expect(egress.services.request({ url: `${base()}/big`, maxBytes: 1024 })).rejects.toMatchObject({ code: 'egress_too_large' });
    await expect(egress.services.request({ url: `${base()}/hang`, timeoutMs: 200 })).rejects.toMatchObject({ code: 'egress_timeout' });
  });

  it('takes only http and https URLs', async () => {
    await expect(egress.services.request({ url: 'file:///etc/passwd' })).rejects.toMatchObject({ code: 'egress_failed', extra: { reason: 'scheme_not_allowed' } });
    await expect(egress.services.request({ url: 'not a url' })).rejects.toMatchObject({ code: 'egress_failed', extra: { reason: 'unparseable' } });
  });
});
