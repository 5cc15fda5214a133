/**
 * What the CLI says when a person gets something wrong or needs the next step: one error line and
 * a did-you-mean (not a screen of help), allowed values listed once (the CLI's own checks and the
 * server's schema errors), and next-step lines that work as printed (`moat pair`'s curl line).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

let g: TestGateway;
const cli = (...args: string[]) => runCli([...args, '--data-dir', g.dataDir]);

beforeAll(async () => {
  g = await startGateway();
});
afterAll(() => g.stop());

describe('usage mistakes get one line and a suggestion, exit 2', () => {
  it.each([
    [['job', 'ls', '--stat', 'queued'], /unknown option '--stat'/, /Did you mean --state\?/],
    [['stauts'], /unknown command 'stauts'/, /Did you mean status\?/],
    [['token', 'craete', '--name', 'x'], /unknown command 'craete'/, /Did you mean create\?/],
    [['job', 'ls', '--state', 'bogus'], /argument 'bogus' is invalid/, /Allowed choices are queued, dispatched, running, succeeded, failed, canceled/],
  ])('moat %j', async (args, error, hint) => {
    const r = await runCli([...args, '--data-dir', tmpDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(error);
    expect(r.stderr).toMatch(hint);
    // The error stays on screen: a few lines, not the command's whole help.
    expect(r.stderr).not.toMatch(/Usage:|Options:/);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(4);
  });
});

describe("the server's schema errors, as the CLI shows them", () => {
  it('lists the allowed values once instead of one Ajv line per literal', async () => {
    const r = await cli('task', 'ls', '--state', 'bogus');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('moat: querystring/state must be one of open, pending_approval, approved, rejected, done, canceled (validation_failed)\n');
  });

  it.each([
    ['/api/v1/jobs?state=nope', 'querystring/state must be one of queued, dispatched, running, succeeded, failed, canceled'],
    ['/api/v1/tasks?state=nope', 'querystring/state must be one of open, pending_approval, approved, rejected, done, canceled'],
  ])('GET %s answers 400 with "%s" once', async (path, detail) => {
    const res = await g.fetch(path);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      code: 'validation_failed',
      detail,
      errors: [{ path: 'querystring/state', message: detail.replace('querystring/state ', '') }],
    });
    expect(res.text).not.toMatch(/equal to constant|anyOf/);
  });

  it('names an unknown field instead of "must NOT have additional properties"', async () => {
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'x', scopes: ['read'], scope: 'read' } });
    expect(res.status).toBe(400);
    expect(res.json.detail).toBe('body/scope is not a known field');
  });
});

describe('moat pair says how to redeem the code', () => {
  it('prints the redeem URL and a curl line that works as printed', async () => {
    const r = await cli('pair', '--scope', 'read', '--name', 'phone');
    expect(r.code).toBe(0);
    const code = r.stdout.trim();
    expect(code).toMatch(/^\d{6}$/);
    expect(r.stderr).toContain(`POST ${g.url}/api/v1/pair`);
    const curl = /^\s+(curl .*)$/m.exec(r.stderr)?.[1] as string;
    expect(curl).toBe(`curl -X POST -H 'X-Pairing-Code: ${code}' ${g.url}/api/v1/pair`);
    // Async: the gateway answers from this same process.
    const run = await promisify(execFile)('bash', ['-c', `${curl} -s`], { encoding: 'utf8', timeout: 10_000 });
    expect(JSON.parse(run.stdout)).toMatchObject({ scopes: ['read'], token: expect.stringMatching(/^moat_/) });
  });
});
