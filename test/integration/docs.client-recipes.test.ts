/**
 * docs/deployment.md's client recipes for the self-signed certificate work against a real TLS
 * gateway: curl --cacert, Node's fetch with the certificate as its CA (and NODE_EXTRA_CA_CERTS),
 * Python requests with verify= (where python3 and requests are installed). Verification stays on:
 * the same clients without the certificate are refused.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const run = promisify(execFile);
let g: TestGateway;
let cert: string;
let url: string;

beforeAll(async () => {
  g = await startGateway({ tls: { enabled: true } });
  cert = join(g.dataDir, 'tls', 'cert.pem');
  url = `https://localhost:${g.gw.port}/api/v1/status`; // a name the certificate carries
});
afterAll(() => g.stop());

const env = () => ({ ...process.env, TOKEN: g.token });

async function outcome(file: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ ok: boolean; stdout: string }> {
  try {
    const r = await run(file, args, { env: { ...env(), ...extraEnv }, timeout: 20_000 });
    return { ok: true, stdout: r.stdout };
  } catch (err) {
    return { ok: false, stdout: (err as { stdout?: string }).stdout ?? '' };
  }
}

describe('client recipes for the self-signed certificate (docs/deployment.md)', () => {
  it('curl --cacert <dataDir>/tls/cert.pem', async () => {
    const r = await outcome('curl', ['-sf', '--cacert', cert, '-H', `Authorization: Bearer ${g.token}`, url]);
    expect(r.ok).toBe(true);
    expect(JSON.parse(r.stdout)).toMatchObject({ tls: { enabled: true } });
    expect((await outcome('curl', ['-sf', '-H', `Authorization: Bearer ${g.token}`, url])).ok).toBe(false);
  });

  it('Node.js: fetch with an undici Agent whose CA is the certificate, and NODE_EXTRA_CA_CERTS', async () => {
    const script = `
      const { readFileSync } = require('node:fs');
      const { Agent } = require(${JSON.stringify(createRequire(import.meta.url).resolve('undici'))});
      const dispatcher = new Agent({ connect: { ca: readFileSync(${JSON.stringify(cert)}) } });
      fetch(${JSON.stringify(url)}, { headers: { authorization: 'Bearer ' + process.env.TOKEN }, dispatcher })
        .then((r) => r.json()).then((j) => console.log(JSON.stringify(j)), (e) => { console.error(e.cause?.code ?? e); process.exit(1); });`;
    const withAgent = await outcome(process.execPath, ['-e', script]);
    expect(withAgent.ok).toBe(true);
    expect(JSON.parse(withAgent.stdout)).toMatchObject({ tls: { enabled: true } });
    const plain = `fetch(${JSON.stringify(url)}, { headers: { authorization: 'Bearer ' + process.env.TOKEN } }).then((r) => r.json()).then((j) => console.log(JSON.stringify(j)), () => process.exit(1));`;
    expect((await outcome(process.execPath, ['-e', plain], { NODE_EXTRA_CA_CERTS: cert })).ok).toBe(true);
    expect((await outcome(process.execPath, ['-e', plain])).ok).toBe(false);
  });

  it('Python requests with verify=<cert.pem>', async (ctx) => {
    const probe = await outcome('python3', ['-c', 'import requests']);
    if (!probe.ok) ctx.skip();
    const script = `import os, requests, json
r = requests.get(${JSON.stringify(url)}, headers={"Authorization": f"Bearer {os.environ['TOKEN']}"}, verify=${JSON.stringify(cert)})
print(json.dumps(r.json()))`;
    const r = await outcome('python3', ['-c', script]);
    expect(r.ok).toBe(true);
    expect(JSON.parse(r.stdout)).toMatchObject({ tls: { enabled: true } });
  });
});
