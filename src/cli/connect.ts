/** Global client flags (--data-dir, --gateway, --token, --fingerprint) and the client they make. */
import type { Command } from 'commander';
import type { MoatClient } from '../client/index.js';

export interface ClientFlags {
  dataDir?: string;
  gateway?: string;
  token?: string;
  fingerprint?: string;
}

export function addClientFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory of the gateway (default ~/.moat, MOAT_DATA_DIR)')
    .option('--gateway <url>', 'gateway URL (default: from <dataDir>/gateway.json, MOAT_GATEWAY)')
    .option('--token <token>', 'bearer token (default: <dataDir>/gateway-token, MOAT_TOKEN)')
    .option('--fingerprint <sha256>', 'expected TLS certificate fingerprint when --gateway is https');
}

/** The client is loaded on use, so that `moat serve` does not load an HTTP client at boot. */
export async function clientFrom(flags: ClientFlags): Promise<MoatClient> {
  const { MoatClient } = await import('../client/index.js');
  return new MoatClient({
    dataDir: flags.dataDir ?? process.env['MOAT_DATA_DIR'],
    gateway: flags.gateway ?? process.env['MOAT_GATEWAY'],
    token: flags.token ?? process.env['MOAT_TOKEN'],
    fingerprint: flags.fingerprint,
  });
}

/** Runs `fn` with a client and closes it afterwards. */
export async function withClient<T>(flags: ClientFlags, fn: (c: MoatClient) => Promise<T>): Promise<T> {
  const client = await clientFrom(flags);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
