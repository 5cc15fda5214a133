/**
 * Hook secrets kept out of the config file: `secretFile` names a file holding the secret, read at
 * boot and again at every live change (so a rotated file is picked up), refused when another user
 * could read it (store/files.ts readSecretFile). Returns the hooks with their secrets filled in.
 */
import { GatewayError } from '../../errors.js';
import { readSecretFile } from '../../store/files.js';
import type { HookSpec } from './registry.js';

/** The hooks with `secretFile` read into `secret` (both given is a contradiction, refused). */
export function resolveSecretFiles(hooks: readonly HookSpec[]): HookSpec[] {
  return hooks.map((h) => {
    if (h.secretFile === undefined) return h;
    if (h.secret !== undefined) throw new GatewayError('config_invalid', `hooks: ${h.name}: give secret or secretFile, not both`);
    const { secretFile, ...rest } = h;
    return { ...rest, secret: readSecretFile(`hooks: ${h.name}: secretFile`, secretFile, 16, 1024) };
  });
}
