/** `moat service ...` as a user runs it: the real CLI (dist/main.js) against a real gateway with the example worker. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, cleanEnv, runCli } from '../helpers/cli.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { spec, waitFor, workerService } from '../helpers/services.js';

let g: TestGateway;
const cli = (...args: string[]) => runCli(['service', ...args, '--data-dir', g.dataDir]);

beforeAll(async () => {
  g = await startGateway({ services: [spec(await workerService('worker', { tags: ['gpu'] }))], supervisor: { stopGraceMs: 1000 } });
  await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'worker healthy');
});

afterAll(async () => {
  await g?.stop();
});

describe('moat service', () => {
  it('ls prints a table for people and JSON for scripts', async () => {
    const table = await cli('ls');
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME\s+KIND\s+STATE\s+PID\s+UPTIME\s+RESTARTS\s+HEALTH\s+EXIT\s+TAGS$/);
    expect(row).toMatch(/^worker\s+command\s+healthy\s+\d+\s+\S+\s+0\s+ok [\d.]+ms\s+-\s+gpu$/);
    const json = await cli('ls', '--json');
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ name: 'worker', state: 'healthy', tags: ['gpu'] })]);
  });

  it('show prints one service in detail', async () => {
    const res = await cli('show', 'worker');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^name\s+worker$/m);
    expect(res.stdout).toMatch(/^state\s+healthy$/m);
    expect(res.stdout).toMatch(/^health\s+ok .*GET \/health every 50 ms/m);
  });

  it('stop, start and restart change the state and say so', async () => {
    expect((await cli('stop', 'worker')).stdout).toBe('worker: stopped\n');
    expect((await cli('start', 'worker')).stdout).toMatch(/^worker: starting \(pid \d+\)\n$/);
    await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'healthy after start');
    const restarted = JSON.parse((await cli('restart', 'worker', '--json')).stdout) as { state: string; pid: number };
    expect(restarted.state).toBe('starting');
    await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'healthy after restart');
  });

  it('logs prints captured lines; --json one object per line', async () => {
    const res = await cli('logs', 'worker', '-n', '5');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\S+Z (stdout|stderr|moat {2}) /.test(l))).toBe(true);
    const json = (await cli('logs', 'worker', '--json')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: string });
    expect(json.some((l) => l.line.startsWith('gpu-worker listening'))).toBe(true);
  });

  it('logs -f follows new lines as the service writes them', async () => {
    const child = spawn(process.execPath, [MAIN, 'service', 'logs', 'worker', '-f', '-n', '1', '--data-dir', g.dataDir], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await waitFor(() => out.length > 0, 'first line');
      // A job through the queue makes the worker write a line (a client's own X-Moat-Job-Id through
      // the proxy no longer reaches it: only Moat's dispatcher sets X-Moat-*).
      const job = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps: 0 } } });
      expect(job.status).toBe(202);
      await waitFor(() => out.includes(`job ${job.json.id} done`), 'followed line', 10_000);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('add registers a running model server as a url service, and rm deletes it', async () => {
    const http = await import('node:http');
    // Ollama's answers on the paths used here: GET / and GET /api/tags.
    const ollama = http.createServer((req, res) => {
      if (req.url === '/api/tags') return res.end(JSON.stringify({ models: [{ name: 'qwen2.5:0.5b' }] }));
      res.end('Ollama is running');
    });
    await new Promise<void>((r) => ollama.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(ollama.address() as { port: number }).port}`;
    try {
      const added = await cli('add', 'ollama', '--url', url, '--health', '/api/tags', '--tag', 'gpu');
      expect(added.stderr).toBe('');
      expect(added.stdout).toBe(`ollama: registered, starting (${url}); clients reach it at /svc/ollama/ with a token of scope svc:ollama\n`);
      await waitFor(() => g.gw.parts.supervisor.state('ollama') === 'healthy', 'ollama healthy');
      expect((await cli('show', 'ollama')).stdout).toMatch(/^health\s+ok .*GET \/api\/tags every 5000 ms/m);
      expect((await g.fetch('/svc/ollama/api/tags')).json.models[0].name).toBe('qwen2.5:0.5b');
      expect((await cli('rm', 'ollama')).stdout).toBe('ollama: deleted\n');
      expect((await cli('show', 'ollama')).stderr).toBe('moat: no service named "ollama" (service_not_found)\n');
    } finally {
      ollama.close();
    }
  });

  it('add without --health probes GET / (any answer below 500)', async () => {
    const added = JSON.parse((await cli('add', 'plain', '--url', 'http://127.0.0.1:9', '--json')).stdout) as { health: { path: string | null } };
    expect(added.health.path).toBeNull();
    expect((await cli('show', 'plain')).stdout).toMatch(/^health\s+.*\(GET \/ answering below 500 every 5000 ms\)$/m);
    expect((await cli('rm', 'plain')).code).toBe(0);
  });

  it.each([
    [
      ['add', 'far', '--url', 'http://192.168.1.20:11434'],
      1,
      /^moat: services: "far": baseUrl 192\.168\.1\.20:11434 is not a loopback address.*\(service_target_refused\)\n$/,
    ],
    [['add', 'bad', '--url', 'http://127.0.0.1:9', '--health', 'api/tags'], 2, /^moat: --health must be a path starting with \/, not "api\/tags"\n$/],
    [['add', 'worker', '--url', 'http://127.0.0.1:9'], 1, /^moat: a service named "worker" is already registered \(service_exists\)\n$/],
    [['rm', 'worker'], 1, /^moat: "worker" is declared in the config file; change it there \(service_readonly\)\n$/],
  ])('moat service %j exits %i and says why', async (args, code, message) => {
    const res = await cli(...args);
    expect(res.code).toBe(code);
    expect(res.stderr).toMatch(message);
  });

  it('says what is wrong for an unknown service and exits non-zero', async () => {
    const res = await cli('show', 'ghost');
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('moat: no service named "ghost" (service_not_found)\n');
  });
});
