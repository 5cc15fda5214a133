/**
 * The logger (pino) with secrets redacted: Authorization headers, tokens, pairing codes, secrets
 * and passwords never reach a log line, JSON or pretty. Everything else in src/ logs through this.
 */
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { prettyDestination } from './pretty.js';

export type { Logger };

/** Paths censored in every log object, at the top level and one or two levels down. */
export const REDACT_PATHS = [
  'authorization',
  'token',
  'secret',
  'password',
  'pairingCode',
  'headers.authorization',
  'headers.cookie',
  'headers["x-pairing-code"]',
  'headers["x-webhook-secret"]',
  '*.authorization',
  '*.token',
  '*.secret',
  '*.password',
  '*.pairingCode',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-pairing-code"]',
  '*.headers["x-webhook-secret"]',
];

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go; default stderr (stdout is for the CLI's own output). */
  destination?: DestinationStream;
  /**
   * `json` (one object per line), `pretty` (human lines), or `auto`: pretty when stderr is a
   * terminal and no destination is given, JSON otherwise. Default `json`. Redaction applies to both.
   */
  format?: LogFormat;
}

/** Whether `format` means human lines here. */
export function isPretty(format: LogFormat | undefined, hasDestination: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && !hasDestination && process.stderr.isTTY === true);
}

const destinations = new WeakMap<Logger, { flushSync?: () => void }>();

export function createLogger(opts: LoggerOptions): Logger {
  const raw = opts.destination ?? pino.destination({ fd: 2, sync: false });
  // pino redacts, then serializes; the pretty destination only re-formats the finished (redacted) line.
  const destination = isPretty(opts.format, opts.destination !== undefined)
    ? prettyDestination(raw, { colour: opts.destination === undefined && process.stderr.isTTY === true })
    : raw;
  const logger = pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
  destinations.set(logger, destination as { flushSync?: () => void });
  return logger;
}

/** Writes out buffered lines now (before the process exits). */
export function flushLogger(logger: Logger): void {
  try {
    destinations.get(logger)?.flushSync?.();
  } catch {
    // nothing buffered, or the stream is busy: pino flushes on its own shortly
  }
}
