/**
 * The body cap of POST /api/v1/tools/invoke follows tools.maxWriteBytes live, lowered as well as
 * raised: after a live change down, bodies the boot's cap let in are refused with 413
 * body_too_large before they are read whole, however they are framed, and the connection is closed.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { gateways, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { createRun } from '../helpers/tools.js';

const boot = gateways('each');
let g: TestGateway;
let run: string;

/** The invoke route's cap for a maxWriteBytes (base64 in JSON, and room for the rest), never below limits.maxBodyBytes. */
const capFor = (maxWriteBytes: number) => Math.max(262_144, Math.ceil(maxWriteBytes / 3) * 4 + 65_536);
const LOWERED = capFor(64 * 1024);

beforeEach(async () => {
  // Booted with 4 MiB writes (a cap of about 5.5 MB), then lowered live to 64 KiB (256 KiB).
  g = await boot({ tools: { maxWriteBytes: 4 * 1024 * 1024 } });
  run = await createRun(g);
  const res = await g.fetch('/api/v1/config', { method: 'PATCH', body: { tools: { maxWriteBytes: 64 * 1024 } } });
  expect(res.status).toBe(200);
});

const head = (g: TestGateway, framing: string) =>
  `POST /api/v1/tools/invoke HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nAuthorization: Bearer ${g.token}\r\nContent-Type: application/json\r\n${framing}\r\n`;
/** A JSON invoke body of fs.write whose content makes it `size` bytes long. */
const bodyOf = (size: number) => {
  const shell = JSON.stringify({ run, tool: 'fs.write', args: { path: 'x.bin', content: '', encoding: 'base64' } });
  return shell.replace('"content":""', `"content":"${'A'.repeat(Math.max(0, size - shell.length) & ~3)}"`);
};

describe('the live body cap of tools/invoke (lowered from 4 MiB writes to 64 KiB)', () => {
  it.each([
    ['a Content-Length over the cap, the body never sent', () => `${head(g, `Content-Length: ${LOWERED + 1}\r\n`)}{"run":`],
    ['a Content-Length of 5 MB (under the boot cap), the body never sent', () => `${head(g, 'Content-Length: 5000000\r\n')}{"run":`],
    ['a chunked body past the cap', () => `${head(g, 'Transfer-Encoding: chunked\r\n')}${(LOWERED + 1024).toString(16)}\r\n${bodyOf(LOWERED + 1024)}\r\n`],
    [
      'a chunked body of small chunks past the cap, never ended',
      () => `${head(g, 'Transfer-Encoding: chunked\r\n')}${Array.from({ length: 70 }, () => `1000\r\n${' '.repeat(4096)}\r\n`).join('')}`,
    ],
  ])('refuses %s with 413 body_too_large and closes the connection', async (_label, request) => {
    const res = await rawRequest(g.gw.port, request(), '127.0.0.1', 10_000);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe('body_too_large');
    expect(res.headers['connection']).toBe('close');
  });

  it('still takes a write under the lowered cap', async () => {
    const body = bodyOf(48 * 1024);
    const res = await rawRequest(g.gw.port, `${head(g, `Content-Length: ${Buffer.byteLength(body)}\r\n`)}${body}`);
    expect(res.status).toBe(200);
  });
});
