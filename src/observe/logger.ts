/**
 * The JSON logger (pino) with secrets redacted: Authorization headers, tokens, pairing codes,
 * secrets and passwords never reach a log line. Everything else in src/ logs through this.
 */
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

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

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go; default stderr (stdout is for the CLI's own output). */
  destination?: DestinationStream;
}

const destinations = new WeakMap<Logger, { flushSync?: () => void }>();

export function createLogger(opts: LoggerOptions): Logger {
  const destination = opts.destination ?? pino.destination({ fd: 2, sync: false });
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
