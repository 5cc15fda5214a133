/**
 * The admin token at boot: --admin-token/MOAT_ADMIN_TOKEN/auth.token, else <dataDir>/gateway-token
 * (created, or repaired: a malformed file replaced, a widened mode narrowed and audited). Starts the
 * token service with it.
 */
import { DATA_DIR } from '../api/data-dir.js';
import type { AuditSink } from '../audit/event.js';
import type { BootConfig } from '../config/live.js';
import { GatewayError } from '../errors.js';
import { adminTokenPath, loadOrCreateAdminToken } from '../domain/identity/admin-token.js';
import type { TokenService } from '../domain/identity/tokens.js';
import type { Logger } from '../observe/logger.js';
import { readIfExists } from '../store/files.js';

export interface AdminTokenContext {
  config: BootConfig;
  log: Logger;
  tokens: TokenService;
  audit: AuditSink;
  /** Where a supplied admin token was given (`--admin-token`, `MOAT_ADMIN_TOKEN`, ...), for messages. */
  origin: string;
}

/** Installs the admin token; returns the one in force now (it follows a rotation by API, CLI or doctor --fix). */
export function installAdminToken({ config, log, tokens, audit, origin }: AdminTokenContext): () => string {
  if (config.auth.token !== undefined) {
    const token = config.auth.token;
    // Privilege escalation by a name clash: a scoped token (exported as MOAT_TOKEN for the CLI, say)
    // given as the admin token would make its holder, and every copy of it, admin.
    const clash = tokens.scopedTokenWithSecret(token);
    if (clash) {
      throw new GatewayError(
        'config_invalid',
        `the admin token given with ${origin} is the secret of the scoped token "${clash.name}" (${clash.id}): an admin token must be its own secret (is MOAT_TOKEN, the CLI's token, set where MOAT_ADMIN_TOKEN was meant?)`,
      );
    }
    tokens.start({ token, fromFile: false });
    return () => token;
  }
  const file = loadOrCreateAdminToken(config.dataDir);
  if (file.replacedMalformed) log.warn({ path: file.path }, 'admin token file was malformed and has been replaced');
  if (file.repairedMode !== null) {
    log.warn(
      { path: file.path, mode: file.repairedMode.toString(8) },
      'admin token file was readable by others; mode set to 0600 (consider moat token rotate-admin)',
    );
    audit.record({ type: 'datadir.mode_repaired', outcome: 'ok', detail: { file: DATA_DIR.adminToken.rel, was: file.repairedMode.toString(8) } });
  }
  let current = file.token;
  tokens.start({ token: current, fromFile: true });
  // Rotated: the new token is the one in the file.
  tokens.onEnded((id, reason) => {
    if (id === 'admin' && reason === 'rotated') current = readIfExists(adminTokenPath(config.dataDir))?.trim() ?? current;
  });
  return () => current;
}
