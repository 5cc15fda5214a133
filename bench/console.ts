/**
 * The console's budget: the bytes a browser transfers on a first load of /console/ (index.html and
 * every asset it references, compressed as a browser asks for them; budget 150 KB), and the idle RSS
 * of a gateway holding the console's assets in memory next to the same gateway without them (budget
 * +5 MB), measured alternately in the same run. Needs `npm run build` (dist/ and dist/console/).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { ROOT, median, row, rssMb, tmp } from './lib.js';

const TRANSFER_BUDGET = 150 * 1024;
const RSS_BUDGET_MB = 5;
const CONSOLE_DIR = join(ROOT, 'dist', 'console');

/** The bytes of one response on the wire: status line, headers, body as sent (compressed). */
async function fetched(url: string, encoding: string): Promise<{ bytes: number; body: string; status: number }> {
  const res = await request(url, { headers: { 'accept-encoding': encoding } });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const head = Object.entries(res.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 17);
  // undici does not decode Content-Encoding: raw is what travelled. Links are read from index.html,
  // which the caller fetches uncompressed for that purpose.
  return { bytes: head + raw.length, body: raw.toString('utf8'), status: res.statusCode };
}

async function firstLoad(base: string): Promise<{ br: number; identity: number; files: number }> {
  const plain = await fetched(`${base}/console/`, 'identity');
  if (plain.status !== 200) throw new Error(`GET /console/ answered ${plain.status}`);
  const assets = [...plain.body.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
  let br = (await fetched(`${base}/console/`, 'br, gzip')).bytes;
  let identity = plain.bytes;
  for (const a of assets) {
    br += (await fetched(base + a, 'br, gzip')).bytes;
    identity += (await fetched(base + a, 'identity')).bytes;
  }
  return { br, identity, files: assets.length + 1 };
}

interface BenchGateway {
  url: string;
  pid: number;
  /** Runs a full garbage collection in the gateway's process and resolves when it is done. */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A gateway from dist/ in a child of its own (Node with --expose-gc), serving the console from
 * `assets` (an empty directory: no console); resolves once it listens.
 */
function gateway(assets: string): Promise<BenchGateway> {
  const dataDir = tmp();
  const keyFile = join(mkdtempSync(join(tmpdir(), 'moat-bench-console-key-')), 'audit.key');
  const script = join(mkdtempSync(join(tmpdir(), 'moat-bench-console-')), 'gateway.mjs');
  writeFileSync(
    script,
    `import { createGateway } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'gateway.js')).href)};
const gw = createGateway({ values: { port: 0, dataDir: ${JSON.stringify(dataDir)}, logLevel: 'error', audit: { keyFile: ${JSON.stringify(keyFile)} } }, consoleAssets: ${JSON.stringify(assets)} });
await gw.start();
process.stdout.write('listening ' + gw.url + '\\n');
process.stdin.on('data', () => { globalThis.gc(); process.stdout.write('gc\\n'); });
process.on('SIGTERM', () => gw.stop().then(() => process.exit(0)));
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let listening = false;
    const waiters: Array<() => void> = [];
    child.stdout.on('data', (d) => {
      out += d;
      for (const line of out.split('\n').slice(0, -1)) {
        if (line === 'gc') waiters.shift()?.();
        const m = /^listening (\S+)$/.exec(line);
        if (m && !listening) {
          listening = true;
          resolve({
            url: m[1] as string,
            pid: child.pid!,
            gc: () =>
              new Promise<void>((r) => {
                waiters.push(r);
                child.stdin.write('gc\n');
              }),
            stop: () =>
              new Promise<void>((r) => {
                child.once('exit', () => r());
                child.kill('SIGTERM');
              }),
          });
        }
      }
      out = out.slice(out.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => {
      if (!listening) reject(new Error(`bench gateway exited ${code}`));
    });
  });
}

/** RSS after the console was loaded once by a browser-like client and the heap was collected. */
async function idleRss(assets: string, withLoad: boolean): Promise<number> {
  const gw = await gateway(assets);
  try {
    if (withLoad) await firstLoad(gw.url);
    else await (await request(`${gw.url}/api/v1/health`)).body.dump();
    // Let boot-time timers run once (probes, heartbeat scheduling), then collect and read.
    await new Promise((r) => setTimeout(r, 1000));
    await gw.gc();
    return rssMb(gw.pid);
  } finally {
    await gw.stop();
  }
}

/** Bytes of every file under dir: what the gateway reads into memory at boot. */
function bytesUnder(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? bytesUnder(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );
}

export async function benchConsole(_seconds: number, rounds = 5): Promise<string[]> {
  if (!existsSync(join(CONSOLE_DIR, 'index.html'))) return [row('console (run npm run build first)', 'skipped', '', '')];
  const empty = mkdtempSync(join(tmpdir(), 'moat-bench-no-console-'));
  const out: string[] = [];
  const gw = await gateway(CONSOLE_DIR);
  try {
    const load = await firstLoad(gw.url);
    out.push(
      row(
        `console first load, ${load.files} files (br)`,
        `${(load.br / 1024).toFixed(1)} KB`,
        `${(TRANSFER_BUDGET / 1024).toFixed(0)} KB budget`,
        `${(load.br / TRANSFER_BUDGET).toFixed(2)}x`,
      ),
    );
    out.push(
      row(
        'console first load, uncompressed',
        `${(load.identity / 1024).toFixed(1)} KB`,
        `${(load.br / 1024).toFixed(1)} KB br`,
        `${(load.identity / load.br).toFixed(2)}x`,
      ),
    );
  } finally {
    await gw.stop();
  }
  const withConsole: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < rounds; i++) {
    without.push(await idleRss(empty, false));
    withConsole.push(await idleRss(CONSOLE_DIR, true));
  }
  const a = median(withConsole);
  const b = median(without);
  out.push(row('idle RSS with the console loaded (MB)', `${a.toFixed(1)} MB`, `${b.toFixed(1)} MB`, `${(a / b).toFixed(2)}x`));
  out.push(row('  RSS difference (budget 5 MB; noisy)', `${(a - b).toFixed(1)} MB`, `${RSS_BUDGET_MB} MB budget`, `${((a - b) / RSS_BUDGET_MB).toFixed(2)}x`));
  // RSS moves by a few MB from run to run; the bytes held are exact.
  const held = bytesUnder(CONSOLE_DIR);
  out.push(
    row(
      'console files held in memory (all encodings)',
      `${(held / 1024).toFixed(1)} KB`,
      `${RSS_BUDGET_MB} MB budget`,
      `${(held / (RSS_BUDGET_MB * 1024 * 1024)).toFixed(3)}x`,
    ),
  );
  return out;
}
