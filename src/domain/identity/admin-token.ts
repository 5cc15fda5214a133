/**
 * The admin token file `<dataDir>/gateway-token`: created once (mode 0600) and reused across
 * restarts; a malformed file is replaced. An operator-supplied token (--admin-token) is never written.
 */
import { chmodSync, statSync } from 'node:fs';
import { generateToken, isWellFormedToken } from '../../crypto/tokens.js';
import { readIfExists, writeFileAtomic } from '../../store/files.js';
import { DATA_DIR, dataDirPaths } from '../../api/data-dir.js';

export interface AdminTokenFile {
  token: string;
  path: string;
  created: boolean;
  replacedMalformed: boolean;
  /** The mode the file had when found, if it was wider than 0600 (it is repaired). */
  repairedMode: number | null;
}

export function adminTokenPath(dataDir: string): string {
  return dataDirPaths(dataDir).adminToken;
}

const MODE = DATA_DIR.adminToken.mode;

export function loadOrCreateAdminToken(dataDir: string): AdminTokenFile {
  const path = adminTokenPath(dataDir);
  const existing = readIfExists(path)?.trim();
  if (existing !== undefined && isWellFormedToken(existing)) {
    const mode = statSync(path).mode & 0o777;
    let repairedMode: number | null = null;
    if (mode !== MODE) {
      chmodSync(path, MODE);
      repairedMode = mode;
    }
    return { token: existing, path, created: false, replacedMalformed: false, repairedMode };
  }
  const token = generateToken();
  writeFileAtomic(path, `${token}\n`, MODE);
  return { token, path, created: existing === undefined, replacedMalformed: existing !== undefined, repairedMode: null };
}

export function writeAdminToken(dataDir: string, token: string): void {
  writeFileAtomic(adminTokenPath(dataDir), `${token}\n`, MODE);
}
