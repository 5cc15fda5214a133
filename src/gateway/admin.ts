/**
 * The admin token at boot: --token/MOAT_TOKEN, else <dataDir>/gateway-token (created, or repaired:
 * a malformed file replaced, a widened mode narrowed and audited). Starts the token service with it.
 */
import type { AuditSink } from '../audit/event.js';
import type { Config } from '../config/schema.js';
import { adminTokenPath, loadOrCreateAdminToken } from '../domain/identity/admin-token.js';
import type { TokenService } from '../domain/identity/tokens.js';
import type { Logger } from '../observe/logger.js';
import { readIfExists } from '../store/files.js';

export interface AdminTokenContext {
  config: Readonly<Config>;
  log: Logger;
  tokens: TokenService;
  audit: AuditSink;
}

/** Installs the admin token; returns the one in force now (it follows a rotation by API, CLI or doctor --fix). */
export function installAdminToken({ config, log, tokens, audit }: AdminTokenContext): () => string {
  if (config.auth.token !== undefined) {
    const token = config.auth.token;
    tokens.start({ token, fromFile: false });
    return () => token;
  }
  const file = loadOrCreateAdminToken(config.dataDir);
  if (file.replacedMalformed) log.warn({ path: file.path }, 'admin token file was malformed and has been replaced');
  if (file.repairedMode !== null) {
    log.warn({ path: file.path, mode: file.repairedMode.toString(8) }, 'admin token file was readable by others; mode set to 0600 (consider moat token rotate-admin)');
    audit.record({ type: 'datadir.mode_repaired', outcome: 'ok', detail: { file: 'gateway-token', was: file.repairedMode.toString(8) } });
  }
  let current = file.token;
  tokens.start({ token: current, fromFile: true });
  // Rotated: the new token is the one in the file.
  tokens.onEnded((id, reason) => {
    if (id === 'admin' && reason === 'rotated') current = readIfExists(adminTokenPath(config.dataDir))?.trim() ?? current;
  });
  return () => current;
}
