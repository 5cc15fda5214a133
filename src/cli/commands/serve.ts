/**
 * `moat serve`: boots the gateway from flags, env and a config file (--config, MOAT_CONFIG, else
 * <dataDir>/moat.json when it exists); says which file it read; drains on SIGTERM/SIGINT and says
 * so. A port in use is a refusal (exit 78) naming who holds it.
 */
import { Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KNOBS, originOf } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { createGateway } from '../../gateway.js';
import { curlCommand } from '../hints.js';
import { CliUsageError, collect } from '../output.js';
import { findPortHolder, portInUseMessage } from '../port-holder.js';
import { DATA_DIR, dataDirPaths } from '../../api/data-dir.js';

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function expandHome(p: string): string {
  if (p === '~') return homedir();
  return p.startsWith('~/') ? join(homedir(), p.slice(2)) : resolve(p);
}

/** The data dir as flags and env name it (a config file cannot be read before it is known). */
export function dataDirOf(flagValue: unknown, env: NodeJS.ProcessEnv): string {
  return expandHome(typeof flagValue === 'string' ? flagValue : env['MOAT_DATA_DIR'] || '~/.moat');
}

/**
 * <dataDir>/moat.json, when it exists. It is code-bearing (services' commands run as moat): a
 * file others may write is refused, like a config an attacker could edit.
 */
function dataDirConfig(dataDir: string): string | undefined {
  const file = dataDirPaths(dataDir).configFile;
  if (!existsSync(file)) return undefined;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new GatewayError('config_invalid', `${file} is writable by others (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${file}`);
  }
  return file;
}

export function serveCommand(program: Command): void {
  const cmd = program
    .command('serve')
    .description('start the gateway (the only process that faces the network)')
    .option(
      '--config <file>',
      `JSON config file (schema: docs/config.schema.json; env MOAT_CONFIG; default <dataDir>/${DATA_DIR.configFile.rel} when it exists)`,
    )
    .option('--pair', 'print a pairing code at boot (scope read, 5 minutes)')
    // The old spelling: --token (and MOAT_TOKEN) is the CLI's bearer token, not the server's.
    .addOption(new Option('--token <token>').hideHelp());
  for (const k of KNOBS) {
    const flag = k.schema.flag;
    if (!flag) continue;
    const desc = `${k.schema.description}${k.schema.env ? ` [${k.schema.env}]` : ''}`;
    if (k.type === 'boolean') {
      cmd.option(`--${flag}`, desc);
      cmd.option(`--no-${flag}`, `turn ${k.path} off`);
    } else if (k.type === 'string[]') {
      cmd.option(`--${flag} <value>`, `${desc} (repeatable)`, collect);
    } else {
      cmd.option(`--${flag} <value>`, desc);
    }
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    if (opts['token'] !== undefined)
      throw new CliUsageError("--token is the CLI's bearer token; moat serve takes its admin token as --admin-token (or MOAT_ADMIN_TOKEN)");
    const flags: Record<string, unknown> = {};
    for (const k of KNOBS) {
      const flag = k.schema.flag;
      if (flag && opts[camel(flag)] !== undefined) flags[flag] = opts[camel(flag)];
    }
    const dataDir = dataDirOf(flags['data-dir'], process.env);
    const given = (opts['config'] as string | undefined) ?? (process.env['MOAT_CONFIG'] || undefined);
    const file = given ?? dataDirConfig(dataDir);
    const gateway = createGateway({ ...(file ? { file } : {}), env: process.env, flags });
    if (file !== undefined && given === undefined && gateway.dataDir !== dataDir) {
      throw new GatewayError(
        'config_invalid',
        `${file} sets dataDir to ${gateway.dataDir}: the moat.json of a data dir cannot move it (remove the key, or pass the file with --config)`,
      );
    }
    // Signals are watched before the socket opens: a SIGTERM during boot drains right after it.
    let signalled: string | null = null;
    let onSignal: (signal: string) => void = (signal) => {
      signalled ??= signal;
    };
    const handler = (signal: NodeJS.Signals) => onSignal(signal);
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
    try {
      await gateway.start();
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EADDRINUSE') throw err;
      const { host, port } = gateway.config;
      const candidates = [gateway.dataDir, dataDirOf(undefined, {}), ...(process.env['MOAT_DATA_DIR'] ? [expandHome(process.env['MOAT_DATA_DIR'])] : [])];
      throw new GatewayError('config_invalid', portInUseMessage(host, port, findPortHolder(port, candidates)));
    }
    const fp = gateway.tlsFingerprint;
    const out = [
      `moat listening on ${gateway.url}${fp ? ` (TLS certificate SHA-256 ${fp})` : ''}`,
      ...(fp && gateway.config.tls.cert === undefined
        ? [`self-signed certificate in ${dataDirPaths(gateway.dataDir).tlsCert} (clients: curl --cacert <that file>)`]
        : []),
      file !== undefined ? `config file ${resolve(file)}` : `no config file (moat init writes ${dataDirPaths(gateway.dataDir).configFile})`,
      gateway.config.auth.token !== undefined
        ? `admin token: the one given with ${originOf('auth.token', gateway.configSources.get('auth.token'))}`
        : `admin token in ${dataDirPaths(gateway.dataDir).adminToken}`,
    ];
    if (opts['pair']) {
      const minted = gateway.parts.pairing.mint({ scopes: ['read'] }, { id: 'admin', name: 'moat serve --pair' });
      // A device code (not a console sign-in): mint always returns its code.
      const code = minted.code as string;
      out.push(
        `pairing code ${code} (scope read, expires ${minted.expiresAt}); a device redeems it once with:`,
        `  ${curlCommand(gateway.url, '/api/v1/pair', { method: 'POST', headers: { 'X-Pairing-Code': code }, dataDir: gateway.dataDir })}`,
      );
    }
    process.stdout.write(`${out.join('\n')}\n`);
    const reason = await new Promise<string>((done) => {
      onSignal = (signal) => {
        onSignal = () => undefined;
        gateway.log.info({ signal }, 'draining');
        void gateway.stop(signal).then(
          () => done(signal),
          () => done(signal),
        );
      };
      if (signalled) onSignal(signalled);
    });
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
    process.stdout.write(`moat stopped (${reason}); ${gateway.dataDir} keeps its state for the next start\n`);
  });
}
