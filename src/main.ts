#!/usr/bin/env node
/**
 * Process entry: argv -> cli. Owns the exit statuses: 0 ok, 78 refused configuration (one line
 * saying why and what to do), 2 usage error, 1 anything else.
 */
import { readFileSync } from 'node:fs';
import { CommanderError, buildProgram } from './cli/index.js';
import { CliUsageError } from './cli/output.js';
import { isGatewayError } from './errors.js';

export const EXIT = { ok: 0, crash: 1, usage: 2, config: 78 } as const;

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(version, argv)).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof CliUsageError) {
      process.stderr.write(`moat: ${err.message}\n`);
      return EXIT.usage;
    }
    if (isGatewayError(err) && (err.code === 'config_invalid' || err.code === 'config_unsafe')) {
      process.stderr.write(`moat: ${err.detail}\n`);
      return EXIT.config;
    }
    const e = err as { name?: string; code?: string; detail?: string; message?: string };
    if (e.name === 'ClientError') {
      process.stderr.write(`moat: ${e.detail} (${e.code})\n`);
      return EXIT.crash;
    }
    process.stderr.write(`moat: ${e.message ?? String(err)}\n`);
    return EXIT.crash;
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  () => process.exit(EXIT.crash),
);
