/**
 * Who holds a TCP port we could not bind (EADDRINUSE): the listening socket's owner from /proc
 * (Linux), and when it is a Moat gateway, the data dir it serves (the directory of the moat.db it
 * holds open, or a gateway.json naming that port). Reads /proc and files only; best effort: what
 * it cannot see (another user's process) it does not guess.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { DATA_DIR, dataDirPaths, type GatewayFile } from '../api/data-dir.js';

export interface PortHolder {
  pid: number | null;
  /** The process's command line, shortened. */
  command: string | null;
  /** The data dir when the holder is a Moat gateway. */
  moatDataDir: string | null;
}

/** Inodes of sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9] as string);
    }
  }
  return inodes;
}

function pidsOf(inodes: Set<string>): number[] {
  if (inodes.size === 0) return [];
  const links = new Set([...inodes].map((i) => `socket:[${i}]`));
  const out: number[] = [];
  for (const name of safeList('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    for (const fd of safeList(`/proc/${name}/fd`)) {
      if (links.has(safeLink(`/proc/${name}/fd/${fd}`) ?? '')) {
        out.push(Number(name));
        break;
      }
    }
  }
  return out;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The directory of a moat.db the process holds open: the data dir a gateway serves. */
function dataDirOfPid(pid: number): string | null {
  for (const fd of safeList(`/proc/${pid}/fd`)) {
    const target = safeLink(`/proc/${pid}/fd/${fd}`);
    if (target && basename(target) === DATA_DIR.database.rel) return dirname(target);
  }
  return null;
}

/** A data dir among `candidates` whose gateway.json names `port` (and `pid`, when known). */
function dataDirByGatewayFile(port: number, pid: number | null, candidates: readonly string[]): string | null {
  for (const dir of candidates) {
    try {
      const info = JSON.parse(readFileSync(dataDirPaths(dir).gatewayFile, 'utf8')) as Partial<GatewayFile>;
      if (info.url && new URL(info.url).port === String(port) && (pid === null || info.pid === pid)) return dir;
    } catch {
      // no gateway.json there
    }
  }
  return null;
}

export function findPortHolder(port: number, candidateDataDirs: readonly string[]): PortHolder {
  const pid = pidsOf(listeningInodes(port))[0] ?? null;
  let command: string | null = null;
  if (pid !== null) {
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 120) || null;
    } catch {
      command = null;
    }
  }
  const moatDataDir = (pid !== null ? dataDirOfPid(pid) : null) ?? dataDirByGatewayFile(port, pid, candidateDataDirs);
  return { pid, command, moatDataDir };
}

/** The one line `moat serve` prints for a port in use: who holds it and what to do. */
export function portInUseMessage(host: string, port: number, holder: PortHolder): string {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const stop = holder.pid !== null ? `stop it (kill ${holder.pid}, or Ctrl-C where it runs)` : 'stop it';
  const other = `or give this one another port (--port ${port === 0 ? 7879 : port + 1}, MOAT_PORT or "port" in the config file)`;
  if (holder.moatDataDir !== null) {
    return `port ${where} is in use by another Moat gateway${holder.pid !== null ? ` (pid ${holder.pid}` : ' ('}${holder.pid !== null ? ', ' : ''}data dir ${holder.moatDataDir}): ${stop} ${other}`;
  }
  if (holder.pid !== null) return `port ${where} is in use by pid ${holder.pid} (${holder.command ?? 'unknown command'}): ${stop} ${other}`;
  return `port ${where} is in use by another process: ${stop} ${other}`;
}
