/** `moat serve`: boots the gateway from flags, env and a config file; drains on SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { KNOBS } from '../../config/load.js';
import { createGateway } from '../../gateway.js';
import { collect } from '../output.js';

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function serveCommand(program: Command): void {
  const cmd = program
    .command('serve')
    .description('start the gateway (the only process that faces the network)')
    .option('--config <file>', 'JSON config file (schema: docs/config.schema.json; env MOAT_CONFIG)')
    .option('--pair', 'print a pairing code at boot (scope read, 5 minutes)');
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
    const flags: Record<string, unknown> = {};
    for (const k of KNOBS) {
      const flag = k.schema.flag;
      if (flag && opts[camel(flag)] !== undefined) flags[flag] = opts[camel(flag)];
    }
    const file = (opts['config'] as string | undefined) ?? process.env['MOAT_CONFIG'];
    const gateway = createGateway({ ...(file ? { file } : {}), env: process.env, flags });
    // Signals are watched before the socket opens: a SIGTERM during boot drains right after it.
    let signalled: string | null = null;
    let onSignal: (signal: string) => void = (signal) => {
      signalled ??= signal;
    };
    const handler = (signal: NodeJS.Signals) => onSignal(signal);
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
    await gateway.start();
    const fp = gateway.tlsFingerprint;
    process.stdout.write(`moat listening on ${gateway.url}${fp ? ` (TLS certificate SHA-256 ${fp})` : ''}\n`);
    process.stdout.write(
      gateway.config.auth.token !== undefined
        ? 'admin token: the one given with --token/MOAT_TOKEN\n'
        : `admin token in ${gateway.dataDir}/gateway-token\n`,
    );
    if (opts['pair']) {
      const minted = gateway.mintPairingCode({ scopes: ['read'] });
      process.stdout.write(`pairing code ${minted.code} (scope read, expires ${minted.expiresAt}); redeem with POST /api/v1/pair\n`);
    }
    await new Promise<void>((resolve) => {
      onSignal = (signal) => {
        onSignal = () => undefined;
        gateway.log.info({ signal }, 'draining');
        void gateway.stop(signal).then(resolve, resolve);
      };
      if (signalled) onSignal(signalled);
    });
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  });
}
