/**
 * Files of the data directory: directories created 0700, secrets written 0600 atomically
 * (temp file, fsync, rename), per-install keys under keys/. Reads and writes the data dir, and the
 * secret files the config names (readSecretFile).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { GatewayError } from '../errors.js';
import { DATA_DIR, KEY_MODE, dataDirPaths } from '../api/data-dir.js';

export function ensureDir(path: string, mode = 0o700): void {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
}

/** Writes `data` to `path` with `mode` so that no reader ever sees a partial or wider-mode file. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * A per-install secret key (`<dataDir>/keys/<name>.key`, 32 random bytes, base64, 0600),
 * created on first use and reused afterwards. A malformed file is refused, never replaced: what
 * was sealed or signed with the key (job payloads, hook secrets, action links) would be lost.
 */
/** Whether the (trimmed) text of a key file is a key: 32 bytes in base64. */
export function isKeyText(text: string): boolean {
  return /^[A-Za-z0-9+/]{43}=$/.test(text);
}

/** What each key protects, for the refusal of a malformed one (and the doctor's finding). */
export const KEY_USES: Record<string, string> = {
  pairing: 'pending pairing codes',
  callback: 'the callback signing secret services and receivers know',
  jobs: 'sealed job payloads',
  hooks: 'hook secrets set through the API',
  tasks: 'task text and the jobs tasks wait to submit',
  links: 'action links already sent',
};

export function loadOrCreateKey(dataDir: string, name: string): Buffer {
  const paths = dataDirPaths(dataDir);
  ensureDir(paths.keysDir, DATA_DIR.keysDir.mode);
  const path = paths.key(name);
  const text = readIfExists(path)?.trim();
  if (text !== undefined) {
    if (!isKeyText(text)) {
      throw new GatewayError(
        'config_invalid',
        `${path} is not a key (32 bytes, base64): restore it from a backup; deleting it makes a new key, and what was sealed or signed with the old one (${KEY_USES[name] ?? 'its data'}) is lost`,
      );
    }
    chmodSync(path, KEY_MODE);
    return Buffer.from(text, 'base64');
  }
  const key = randomBytes(32);
  writeFileAtomic(path, `${key.toString('base64')}\n`, KEY_MODE);
  return key;
}

/**
 * The install's id (`<dataDir>/install-id`, 32 hex characters, 0600): not a secret, a name. It
 * labels what moat leaves outside the data dir (containers: moat.instance), so that a later boot
 * finds its own and never another install's. Created on first use, reused afterwards.
 */
export function loadOrCreateInstallId(dataDir: string): string {
  ensureDir(dataDir, DATA_DIR.root.mode);
  const path = dataDirPaths(dataDir).installId;
  const text = readIfExists(path)?.trim();
  if (text !== undefined) {
    if (!/^[0-9a-f]{32}$/.test(text)) {
      throw new GatewayError(
        'config_invalid',
        `${path} is not an install id (32 hex characters): restore it, or delete it (containers of the old id are then no longer removed by moat)`,
      );
    }
    return text;
  }
  const id = randomBytes(16).toString('hex');
  writeFileAtomic(path, `${id}\n`, DATA_DIR.installId.mode);
  return id;
}

/**
 * A secret the config keeps in a file (`secretFile`, `tokenFile`): one line, its final newline
 * dropped, `min`-`max` characters. Refused with config_invalid (naming `key`) when the path is not
 * absolute, the file cannot be read, or group or others have any access to it: a secret another
 * user on the host can read is a secret they can use.
 */
export function readSecretFile(key: string, path: string, min: number, max: number): string {
  const refuse = (detail: string): never => {
    throw new GatewayError('config_invalid', `${key}: ${detail}`);
  };
  if (!isAbsolute(path)) refuse(`must be an absolute path (${JSON.stringify(path)})`);
  let text = '';
  let mode = 0;
  try {
    mode = statSync(path).mode;
    if ((mode & 0o077) === 0) text = readFileSync(path, 'utf8');
  } catch (err) {
    refuse(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((mode & 0o077) !== 0) refuse(`${path} is open to group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length < min || secret.length > max || /[\r\n]/.test(secret)) refuse(`${path} must hold one line of ${min}-${max} characters`);
  return secret;
}
