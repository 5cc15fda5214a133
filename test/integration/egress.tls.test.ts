/**
 * https through the guard: the socket goes to the checked address, while SNI and the certificate
 * check use the name in the URL; a certificate nobody trusts fails the request (no -k anywhere).
 */
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSelfSigned } from '../../src/http/self-signed.js';
import { listen, makeEgress, tableResolver, type Listening } from '../helpers/egress.js';

const sni: Array<string | undefined> = [];
let server: Listening<https.Server>;

beforeAll(async () => {
  const { certPem, keyPem } = issueSelfSigned(['tls.test'], 1);
  const context = tls.createSecureContext({ cert: certPem, key: keyPem });
  server = await listen(
    https.createServer(
      {
        cert: certPem,
        key: keyPem,
        SNICallback: (name, cb) => {
          sni.push(name);
          cb(null, context);
        },
      },
      (_req, res) => res.end('secret'),
    ),
    '::1',
  );
});
afterAll(() => server.close());

describe('TLS through the egress guard', () => {
  it('sends the URL name as SNI to the checked address and refuses an untrusted certificate', async () => {
    const resolver = tableResolver({ 'tls.test': ['::1'] });
    const { egress, audit } = makeEgress({ purposes: { fetch: { allowCidrs: ['::1/128'] } } }, resolver);
    const err = await egress.request({ url: `https://tls.test:${server.port}/`, purpose: 'fetch' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'egress_failed', status: 502 });
    expect(String((err as { extra: { reason: string } }).extra.reason)).toMatch(/CERT|SELF_SIGNED/);
    expect(sni).toEqual(['tls.test']);
    expect(resolver.calls).toEqual(['tls.test']);
    expect(audit.events).toEqual([]); // a failure, not a refusal
    await egress.stop();
  });

  it('an https URL to a denied address is refused before any handshake', async () => {
    sni.length = 0;
    const { egress } = makeEgress({}, tableResolver({ 'tls.test': ['::1'] }));
    await expect(egress.request({ url: `https://tls.test:${server.port}/`, purpose: 'fetch' })).rejects.toMatchObject({
      code: 'egress_denied',
      extra: { reason: 'loopback' },
    });
    expect(sni).toEqual([]);
    await egress.stop();
  });
});
