/**
 * Hook secrets kept out of the config file: `secretFile` names a file holding the secret, read at
 * boot and again at every live change (so a rotated file is picked up), refused when another user
 * could read it (group or other permission bits: mode 0600 or 0400, like the admin token file).
 * Reads those files only; returns the hooks with their secrets filled in.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { GatewayError } from '../../errors.js';
import type { HookSpec } from './registry.js';

const MIN = 16;
const MAX = 1024;

function refuse(name: string, detail: string): never {
  throw new GatewayError('config_invalid', `hooks: ${name}: ${detail}`);
}

/** The secret in `path`, without its final line break; refused when unreadable, too open, or not 16-1024 characters. */
export function readSecretFile(name: string, path: string): string {
  if (!isAbsolute(path)) refuse(name, `secretFile must be an absolute path (${JSON.stringify(path)})`);
  let text: string;
  try {
    const mode = statSync(path).mode;
    // A secret another user can read is a secret anyone on the host can forge deliveries with.
    if ((mode & 0o077) !== 0) refuse(name, `secretFile ${path} is readable or writable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'config_invalid') throw err;
    refuse(name, `cannot read secretFile ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length < MIN || secret.length > MAX || /[\r\n]/.test(secret)) refuse(name, `secretFile ${path} must hold one line of ${MIN}-${MAX} characters`);
  return secret;
}

/** The hooks with `secretFile` read into `secret` (both given is a contradiction, refused). */
export function resolveSecretFiles(hooks: readonly HookSpec[]): HookSpec[] {
  return hooks.map((h) => {
    if (h.secretFile === undefined) return h;
    if (h.secret !== undefined) refuse(h.name, 'give secret or secretFile, not both');
    const { secretFile, ...rest } = h;
    return { ...rest, secret: readSecretFile(h.name, secretFile) };
  });
}
