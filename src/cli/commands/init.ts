/**
 * `moat init`: writes <dataDir>/moat.json (mode 0600), the config file `moat serve` reads when no
 * --config is given, with a port and a service or two; asks on a terminal, takes flags otherwise.
 * Never overwrites an existing file: it says what it kept. Prints the next steps as commands that
 * work as printed. Writes files only; talks to no gateway.
 */
import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { assertValid } from '../../config/load.js';
import { shellQuote } from '../hints.js';
import { CliUsageError, collect } from '../output.js';
import { dataDirOf } from './serve.js';
import { DATA_DIR, dataDirPaths } from '../../api/data-dir.js';

interface InitService {
  name: string;
  kind: 'url';
  baseUrl: string;
}

interface InitFile {
  port?: number;
  services?: InitService[];
}

const SERVICE = /^([a-z][a-z0-9-]{0,31})=(https?:\/\/\S+)$/;

function parseService(text: string): InitService {
  const m = SERVICE.exec(text.trim());
  if (!m) throw new CliUsageError(`--service takes <name>=<url>, e.g. ollama=http://127.0.0.1:11434 (name: a-z, 0-9, -), not ${JSON.stringify(text)}`);
  return { name: m[1] as string, kind: 'url', baseUrl: (m[2] as string).replace(/\/$/, '') };
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CliUsageError(`--port must be 1-65535, not ${JSON.stringify(text)}`);
  return n;
}

/** Questions on a terminal: the port, then services until an empty name. */
async function ask(defaults: { port: number }): Promise<InitFile> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const out: InitFile = {};
    for (;;) {
      const answer = (await rl.question(`Port to listen on (loopback only) [${defaults.port}]: `)).trim();
      try {
        out.port = answer === '' ? defaults.port : parsePort(answer);
        break;
      } catch (err) {
        process.stdout.write(`${(err as Error).message.replace('--port', 'the port')}\n`);
      }
    }
    const services: InitService[] = [];
    process.stdout.write('Services already running that Moat should guard (an LLM server, ComfyUI, ...). Empty name: done.\n');
    while (services.length < 8) {
      const name = (await rl.question(`Service name${services.length > 0 ? ' (empty: done)' : ' (e.g. ollama; empty: none)'}: `)).trim();
      if (name === '') break;
      const url = (await rl.question(`URL of ${name} (e.g. http://127.0.0.1:11434): `)).trim();
      try {
        services.push(parseService(`${name}=${url}`));
      } catch (err) {
        process.stdout.write(`${(err as Error).message.replace('--service takes', 'a service needs')}\n`);
      }
    }
    if (services.length > 0) out.services = services;
    return out;
  } finally {
    rl.close();
  }
}

/** The next steps, as commands that work as printed (the token is read from its file, never shown). */
function nextSteps(dataDir: string, file: InitFile, defaultDataDir: boolean): string[] {
  const url = `http://127.0.0.1:${file.port ?? 7878}`;
  const dirFlag = defaultDataDir ? '' : ` --data-dir ${shellQuote(dataDir)}`;
  const auth = `-H "Authorization: Bearer $(cat ${shellQuote(dataDirPaths(dataDir).adminToken)})"`;
  const lines = [
    'next:',
    `  moat serve${dirFlag}          # listens on ${url} (reads this file; Ctrl-C stops it)`,
    `  # the admin token: ${dataDirPaths(dataDir).adminToken} (moat serve creates it; never printed)`,
    `  curl ${auth} ${url}/api/v1/status`,
  ];
  for (const s of file.services ?? []) lines.push(`  curl ${auth} ${url}/svc/${s.name}/     # ${s.name}, through Moat`);
  lines.push(`  moat status${dirFlag}; moat token create --name phone --scope read${dirFlag}   # a token for a device`);
  return lines;
}

export function initCommand(program: Command): void {
  program
    .command('init')
    .description(`write <dataDir>/${DATA_DIR.configFile.rel}, the config moat serve reads (asks on a terminal; never overwrites)`)
    .option('--data-dir <dir>', 'data directory (default ~/.moat, MOAT_DATA_DIR)')
    .option('--port <n>', 'port to listen on (default 7878)')
    .option('--service <name=url>', 'a running service to put behind Moat, e.g. ollama=http://127.0.0.1:11434 (repeatable)', collect)
    .option('--yes', 'do not ask, even on a terminal: use the flags and defaults')
    .action(async (opts: { dataDir?: string; port?: string; service?: string[]; yes?: boolean }) => {
      const dataDir = dataDirOf(opts.dataDir, process.env);
      const defaultDataDir = opts.dataDir === undefined && !process.env['MOAT_DATA_DIR'];
      const path = dataDirPaths(dataDir).configFile;
      if (existsSync(path)) {
        // Re-running is safe: the file is the operator's now.
        let kept: InitFile = {};
        try {
          kept = JSON.parse(readFileSync(path, 'utf8')) as InitFile;
        } catch {
          // not JSON: moat serve will say so; it is kept all the same
        }
        const services = (kept.services ?? []).map((s) => s.name).join(', ') || 'none';
        process.stdout.write(`kept ${path} as it is (port ${kept.port ?? 7878}, services: ${services}); edit it, or remove it and run moat init again\n`);
        if (opts.port !== undefined || opts.service !== undefined) process.stdout.write('(--port and --service were not applied: the file exists)\n');
        process.stdout.write(`${nextSteps(dataDir, kept, defaultDataDir).join('\n')}\n`);
        return;
      }
      const flagsGiven = opts.port !== undefined || opts.service !== undefined;
      const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true && opts.yes !== true && !flagsGiven;
      const file: InitFile = interactive
        ? await ask({ port: 7878 })
        : {
            ...(opts.port !== undefined ? { port: parsePort(opts.port) } : {}),
            ...(opts.service ? { services: opts.service.map(parseService) } : {}),
          };
      const names = (file.services ?? []).map((s) => s.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup) throw new CliUsageError(`service ${dup} is given twice`);
      assertValid(file, 'moat init'); // the same schema moat serve checks
      mkdirSync(dataDir, { recursive: true, mode: DATA_DIR.root.mode });
      // Exclusive create: a file that appeared meanwhile is not clobbered either.
      writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: DATA_DIR.configFile.mode, flag: 'wx' });
      process.stdout.write(`wrote ${path} (mode 0600): port ${file.port ?? 7878}, services: ${names.join(', ') || 'none'}\n`);
      process.stdout.write(`${nextSteps(dataDir, file, defaultDataDir).join('\n')}\n`);
    });
}
