/**
 * The ntfy access token kept in a file (notifications.ntfy.tokenFile): sent as Authorization: Bearer
 * to the ntfy server, read again at each notification (a rotated file is used at once), refused at
 * boot when the file is open to group or others, and never written to the log or the audit.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, tmpDir } from '../helpers/gateway.js';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

const hits: Array<{ url: string; auth: string | undefined; raw: string }> = [];
let server: http.Server;
let base: string;
let g: JobsGateway;
const TOPIC = randomBytes(16).toString('hex');
const dir = tmpDir('moat-ntfy-');
const tokenPath = join(dir, 'ntfy.token');
const FIRST = `tk_${randomBytes(12).toString('hex')}`;
const SECOND = `tk_${randomBytes(12).toString('hex')}`;

function writeToken(path: string, token: string, mode = 0o600): string {
  writeFileSync(path, `${token}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      hits.push({ url: req.url ?? '', auth: req.headers.authorization, raw });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeToken(tokenPath, FIRST);
  g = await startJobsGateway({
    notifications: { ntfy: { url: base, topic: TOPIC, tokenFile: tokenPath } },
    egress: { purposes: { notify: { allowCidrs: ['127.0.0.1/32'] } } },
  });
});
afterAll(async () => {
  await g?.stop();
  await new Promise<void>((r) => server.close(() => r()));
});

const hitFor = (id: string) => hits.find((h) => h.url === `/${TOPIC}` && h.raw.includes(id));

describe('an ntfy token in a file', () => {
  it('is sent as a bearer token, and a rotated file is used for the next notification', async () => {
    const a = await g.submit({ service: 'worker', notify: ['ntfy'], payload: { steps: 0 } });
    await waitFor(() => hitFor(a.id) !== undefined, 'the first notification');
    expect(hitFor(a.id)?.auth).toBe(`Bearer ${FIRST}`);
    writeToken(tokenPath, SECOND);
    const b = await g.submit({ service: 'worker', notify: ['ntfy'], payload: { steps: 0 } });
    await waitFor(() => hitFor(b.id) !== undefined, 'the second notification');
    expect(hitFor(b.id)?.auth).toBe(`Bearer ${SECOND}`);
  });

  it('is never in the log, the audit or the config the API shows', async () => {
    expect(g.logs.text).not.toContain(FIRST);
    expect(g.logs.text).not.toContain(SECOND);
    const audit = readFileSync(join(g.dataDir, 'audit', 'audit.jsonl'), 'utf8');
    expect(audit).not.toContain(FIRST);
    expect((await g.fetch('/api/v1/config')).text).not.toContain(SECOND);
  });

  it.each([
    ['open to others (0644)', () => writeToken(join(dir, 'o.token'), FIRST, 0o644)],
    ['open to the group (0640)', () => writeToken(join(dir, 'g.token'), FIRST, 0o640)],
    ['missing', () => join(dir, 'none.token')],
    ['a relative path', () => 'ntfy.token'],
    ['holding a token with a space', () => writeToken(join(dir, 's.token'), 'tk_has a space')],
  ])('refuses at boot a token file %s with config_invalid', async (_name, make) => {
    await expect(startGateway({ notifications: { ntfy: { url: base, topic: TOPIC, tokenFile: make() } } })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
