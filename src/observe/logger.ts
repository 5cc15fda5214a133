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

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
