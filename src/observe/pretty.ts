/**
 * Human log lines for a terminal: `09:14:03 INFO  refused: token_invalid client=127.0.0.1 ...`.
 * A destination pino writes its finished JSON lines into: redaction has already happened, so this
 * shows only what the JSON log would show. Formats only; never decides what is logged.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has (shown in the prefix) or that say nothing to a person at a terminal. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);
const MAX_VALUE = 200;

/** Objects longer than this show as {...}: the message says what they say (a heartbeat's fields, say). */
const MAX_OBJECT = 80;

function value(v: unknown): string {
  if (typeof v === 'object' && v !== null) {
    const text = JSON.stringify(v);
    return text.length > MAX_OBJECT ? (Array.isArray(v) ? '[...]' : '{...}') : text;
  }
  const text = typeof v === 'string' ? (/[\s="]/.test(v) || v === '' ? JSON.stringify(v) : v) : JSON.stringify(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}...` : text;
}

const two = (n: number) => String(n).padStart(2, '0');

/** One JSON log line as a human line (a line that is not JSON is passed through). */
export function prettyLine(json: string, colour = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const d = new Date(typeof o['time'] === 'number' ? o['time'] : Date.now());
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const n = typeof o['level'] === 'number' ? o['level'] : 30;
  const label = (LEVELS[n] ?? String(n)).padEnd(5);
  const fields: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (HIDDEN.has(k) || v === undefined) continue;
    if (k === 'err' && typeof v === 'object' && v !== null) fields.push(`err=${value((v as { message?: unknown }).message ?? v)}`);
    else fields.push(`${k}=${value(v)}`);
  }
  const level = colour ? `\u001b[${COLOURS[n] ?? '0'}m${label}\u001b[0m` : label;
  return `${time} ${level} ${String(o['msg'] ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
}

/** A destination that turns pino's JSON lines into human lines on `out`. */
export function prettyDestination(
  out: DestinationStream & { flushSync?: () => void },
  opts: { colour?: boolean } = {},
): DestinationStream & { flushSync?: () => void } {
  let partial = '';
  return {
    write(chunk: string): void {
      const text = partial + chunk;
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line !== '') out.write(prettyLine(line, opts.colour === true));
    },
    flushSync: () => out.flushSync?.(),
  };
}
