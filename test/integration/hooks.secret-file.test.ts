/**
 * Hook secrets in a file (`secretFile`) instead of the config file: read at boot, refused when the
 * file is open to group or others (another user on the host could forge deliveries), read again at
 * a live change (a rotated secret takes over), never accepted from an API client.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { deliver, githubHeaders } from '../helpers/hooks.js';

const dir = tmpDir('moat-secret-file-');
const FIRST = 'first-secret-from-a-file-0001';
const SECOND = 'second-secret-from-a-file-0002';

function secretFile(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

const hook = (extra: Record<string, unknown>) => ({ name: 'gh', verify: 'github', action: { type: 'task', title: 'push' }, ...extra });
const body = JSON.stringify({ ref: 'refs/heads/main' });

let g: TestGateway;
let path: string;
beforeAll(async () => {
  path = secretFile('gh.secret', `${FIRST}\n`);
  g = await startGateway({ rateLimit: { enabled: false }, hooks: [hook({ secretFile: path })] });
});
afterAll(() => g.stop());

describe('a hook whose secret is in a file', () => {
  it("verifies deliveries signed with the file's secret (its final newline is not part of it), and shows the secret as set", async () => {
    expect((await deliver(g, 'gh', body, githubHeaders(FIRST, body, 'd-1'))).status).toBe(202);
    expect((await deliver(g, 'gh', body, githubHeaders(`${FIRST}\n`, body, 'd-2'))).status).toBe(401);
    const view = await g.fetch('/api/v1/hooks/gh');
    expect(view.json).toMatchObject({ name: 'gh', secret: 'set' });
    expect(view.text).not.toContain(FIRST);
    expect((await g.fetch('/api/v1/config')).text).not.toContain(FIRST);
  });

  it('reads the file again at a live change: the rotated secret verifies, the old one no longer does', async () => {
    writeFileSync(path, SECOND);
    // The file alone changes nothing until the configuration is reloaded.
    expect((await deliver(g, 'gh', body, githubHeaders(FIRST, body, 'd-3'))).status).toBe(202);
    const patch = await g.fetch('/api/v1/config', { method: 'PATCH', body: { allowedOrigins: ['https://rotate.example.com'] } });
    expect(patch.status).toBe(200);
    expect((await deliver(g, 'gh', body, githubHeaders(FIRST, body, 'd-4'))).status).toBe(401);
    expect((await deliver(g, 'gh', body, githubHeaders(SECOND, body, 'd-5'))).status).toBe(202);
  });

  it('keeps the secret in force when a live change finds the file opened to others, and refuses the change', async () => {
    chmodSync(path, 0o644);
    try {
      const patch = await g.fetch('/api/v1/config', { method: 'PATCH', body: { allowedOrigins: [] } });
      expect(patch.status).toBe(400);
      expect(patch.json.code).toBe('config_invalid');
      expect((await deliver(g, 'gh', body, githubHeaders(SECOND, body, 'd-6'))).status).toBe(202);
    } finally {
      chmodSync(path, 0o600);
    }
  });

  it("is never taken from an API client (a client names no file on the gateway's host)", async () => {
    const res = await g.fetch('/api/v1/hooks', {
      method: 'POST',
      body: { name: 'api-file', verify: 'github', secretFile: path, action: { type: 'task', title: 'x' } },
    });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('validation_failed');
  });
});

describe('secret files refused at boot with config_invalid', () => {
  it.each([
    ['readable by others (0604)', () => hook({ secretFile: secretFile('o.secret', FIRST, 0o604) })],
    ['readable by the group (0640)', () => hook({ secretFile: secretFile('g.secret', FIRST, 0o640) })],
    ['writable by the group (0620)', () => hook({ secretFile: secretFile('gw.secret', FIRST, 0o620) })],
    ['open to all (0666)', () => hook({ secretFile: secretFile('a.secret', FIRST, 0o666) })],
    ['missing', () => hook({ secretFile: join(dir, 'no-such-file') })],
    ['a relative path', () => hook({ secretFile: 'gh.secret' })],
    ['a directory', () => hook({ secretFile: dir })],
    ['too short a secret', () => hook({ secretFile: secretFile('short.secret', 'short') })],
    ['two lines', () => hook({ secretFile: secretFile('two.secret', `${FIRST}\n${SECOND}\n`) })],
    ['given together with secret', () => hook({ secret: FIRST, secretFile: secretFile('both.secret', FIRST) })],
  ])('refuses a secret file %s', async (_name, make) => {
    await expect(startGateway({ hooks: [make()] })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
