/**
 * The recipes of docs/services.md, run as pasted: every block marked `recipe=<name>` is taken from
 * the doc (so the doc cannot drift from what works), its ports and paths pointed at this test's
 * gateway and stand-ins, and run by bash with the real `moat` CLI (dist/main.js) on PATH, or, for
 * the OpenAI SDK, by node with the real `openai` package. The stand-ins (helpers/model-servers.ts)
 * answer like Ollama, llama.cpp's server, vLLM with --api-key and ComfyUI on the recipes' paths.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, cleanEnv } from '../helpers/cli.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { comfyui, llamaCpp, ollama, vllm, type StandIn } from '../helpers/model-servers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/services.md'), 'utf8');
const MOAT_URL = 'http://127.0.0.1:7878';

/** The doc's recipe blocks by name, in order. */
function recipes(): Map<string, Array<{ lang: string; text: string }>> {
  const out = new Map<string, Array<{ lang: string; text: string }>>();
  for (const m of DOC.matchAll(/```(sh|json|js) recipe=([a-z0-9-]+)\n([\s\S]*?)```/g)) {
    const list = out.get(m[2] as string) ?? [];
    list.push({ lang: m[1] as string, text: m[3] as string });
    out.set(m[2] as string, list);
  }
  return out;
}
const RECIPES = recipes();
const block = (name: string, lang: string, i = 0) => {
  const b = (RECIPES.get(name) ?? []).filter((r) => r.lang === lang)[i];
  if (!b) throw new Error(`docs/services.md has no ${lang} block recipe=${name}`);
  return b.text;
};

/** A directory with a `moat` on PATH that runs this checkout's CLI. */
const BIN = mkdtempSync(join(tmpdir(), 'moat-bin-'));
writeFileSync(join(BIN, 'moat'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
chmodSync(join(BIN, 'moat'), 0o755);

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: cleanEnv({ PATH: `${BIN}:${process.env['PATH'] ?? ''}`, ...opts.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`recipe did not finish in 30 s\n${stdout}\n${stderr}`));
    }, 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a shell recipe as pasted (bash -e), pointed at `g` and the stand-in's port. */
function shell(text: string, g: TestGateway, from: number, to: number, cwd = mkdtempSync(join(tmpdir(), 'moat-recipe-'))) {
  const script = text.replaceAll(MOAT_URL, g.url).replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${to}`);
  return run('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd, env: { MOAT_DATA_DIR: g.dataDir } });
}

describe('docs/services.md recipes', () => {
  it('has a runnable recipe for each model server and the OpenAI SDK', () => {
    expect([...RECIPES.keys()].sort()).toEqual(['comfyui', 'llama-cpp', 'ollama', 'openai', 'vllm']);
  });

  describe('url services added with moat service add', () => {
    let g: TestGateway;
    beforeAll(async () => {
      g = await startGateway();
    });
    afterAll(async () => {
      await g?.stop();
    });

    it.each<[string, () => Promise<StandIn>, number, (out: string) => void, string]>([
      [
        'ollama',
        ollama,
        11434,
        (out) => expect(JSON.parse(out)).toMatchObject({ model: 'qwen2.5:0.5b', response: 'Hi from Ollama!', done: true }),
        '/api/tags',
      ],
      ['llama-cpp', llamaCpp, 8080, (out) => expect(JSON.parse(out).choices[0].message.content).toBe('Hi from llama.cpp!'), '/health'],
      ['comfyui', comfyui, 8188, (out) => expect(JSON.parse(out)).toMatchObject({ prompt_id: expect.any(String), node_errors: {} }), '/system_stats'],
    ])('%s works as pasted', async (name, start, port, check, probe) => {
      const server = await start();
      try {
        const cwd = mkdtempSync(join(tmpdir(), 'moat-recipe-'));
        // What ComfyUI's "Save (API)" writes: node id -> class and inputs.
        writeFileSync(join(cwd, 'workflow_api.json'), JSON.stringify({ prompt: { '3': { class_type: 'KSampler', inputs: { seed: 1, steps: 20 } } } }));
        const res = await shell(block(name, 'sh'), g, port, server.port, cwd);
        expect(res.code, res.stderr).toBe(0);
        // `moat service add` says what it did on the first line; curl's answer is the last.
        check(res.stdout.trim().split('\n').at(-1) as string);
        expect(server.seen.some((s) => s.url === probe)).toBe(true);
        // The client's moat token never reaches the model server.
        expect(server.seen.every((s) => s.authorization === undefined)).toBe(true);
      } finally {
        await server.close();
      }
    });
  });

  describe('vLLM with --api-key, and an OpenAI SDK pointed at it', () => {
    const KEY = 'sk-recipe-Zr5Lm2Vx9Tb4Nc7Wd8Hq-vllm';
    let server: StandIn;
    let g: TestGateway;
    beforeAll(async () => {
      server = await vllm(KEY);
      const keyFile = join(mkdtempSync(join(tmpdir(), 'moat-key-')), 'vllm.key');
      writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
      const config = JSON.parse(
        block('vllm', 'json').replaceAll('/etc/moat/vllm.key', keyFile).replaceAll('127.0.0.1:8000', `127.0.0.1:${server.port}`),
      ) as Record<string, unknown>;
      g = await startGateway(config);
    });
    afterAll(async () => {
      await g?.stop();
      await server?.close();
    });

    it('vllm works as pasted: the client holds a moat token, moat adds the key', async () => {
      // `moat serve --config moat.json &` is this test's gateway, started from the doc's JSON above.
      const text = block('vllm', 'sh')
        .split('\n')
        .filter((l) => !l.startsWith('moat serve '))
        .join('\n');
      const res = await shell(text, g, 8000, server.port);
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).choices[0].message.content).toBe('Hi from vLLM!');
      expect(server.seen.filter((s) => s.url.startsWith('/v1/')).every((s) => s.authorization === `Bearer ${KEY}`)).toBe(true);
      expect(res.stdout + res.stderr).not.toContain(KEY);
    });

    it('the OpenAI SDK (Node) works as pasted, streaming, with a moat token as its API key', async () => {
      const token = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'sdk', scopes: ['svc:vllm'] } })).json.token as string;
      const before = server.seen.length;
      const code = block('openai', 'js').replaceAll(MOAT_URL, g.url);
      // --eval resolves `openai` from the working directory: this checkout's node_modules.
      const res = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { APP_TOKEN: token } });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe('Hi from vLLM!');
      const calls = server.seen.slice(before);
      expect(calls.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /v1/chat/completions']);
      expect(calls[0]?.authorization).toBe(`Bearer ${KEY}`);
    });
  });
});
