/**
 * The audit chain key: 32 random bytes in a file outside the data dir (whoever can write the data
 * dir must not be able to re-chain the log), created 0600 on first boot and never replaced. From
 * it come the chain's HMAC key and the Ed25519 key that signs head anchors. Reads and creates the
 * key file only; never logs or returns the key.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  hash,
  hkdfSync,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { GatewayError } from '../errors.js';

/** The system place for keys that protect the record, used when the operator created it. */
export const SYSTEM_KEY_DIR = '/etc/moat';
export const KEY_FILE_NAME = 'audit.key';
export const ANCHOR_FILE_NAME = 'audit-anchors.jsonl';

/** DER header of a PKCS #8 Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const KEY_TEXT = /^[A-Za-z0-9+/]{43}=$/;

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `~/x` and relative paths made absolute. */
export function expandPath(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return resolve(p);
}

/** Where the key is when audit.keyFile is not set: /etc/moat/audit.key if /etc/moat exists, else ~/.config/moat/audit.key. */
export function defaultKeyFile(): string {
  return isDir(SYSTEM_KEY_DIR) ? join(SYSTEM_KEY_DIR, KEY_FILE_NAME) : join(homedir(), '.config', 'moat', KEY_FILE_NAME);
}

export interface AuditKeyPaths {
  keyFile: string;
  anchorFile: string;
}

/** The key file and the anchor file in force for the audit section of a configuration. */
export function auditKeyPaths(audit: { keyFile?: string | undefined; anchorFile?: string | undefined }): AuditKeyPaths {
  const keyFile = audit.keyFile !== undefined ? expandPath(audit.keyFile) : defaultKeyFile();
  const anchorFile = audit.anchorFile !== undefined ? expandPath(audit.anchorFile) : join(dirname(keyFile), ANCHOR_FILE_NAME);
  return { keyFile, anchorFile };
}

/** The real path of `p`, or of its nearest existing parent with the rest appended (symbolic links followed). */
function realish(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(realish(parent), basename(p));
  }
}

/** Whether `path` is `dir` or inside it, after following symbolic links. */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(realish(dir), realish(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Re-chaining: a key (or anchor) inside the data dir can be read and replaced by whoever can write
 * the data dir, who could then edit entries and compute new macs. Refused at boot.
 */
export function refuseInsideDataDir(path: string, dataDir: string, knob: string): void {
  if (isInside(dataDir, path)) {
    throw new GatewayError(
      'config_invalid',
      `${knob} ${path} is inside the data dir ${dataDir}: whoever can write the data dir could re-chain the audit log; put it elsewhere (docs/deployment.md)`,
    );
  }
}

export class ChainKey {
  /** Names the key (in audit.keyed entries and anchors) without revealing it. */
  readonly id: string;
  /** The anchor-signing public key, raw 32 bytes in base64: anyone holding it can check anchors. */
  readonly publicKey: string;
  /** The chain's HMAC key, made a KeyObject once (not copied into every HMAC from raw bytes). */
  private readonly hmacKey: KeyObject;
  private readonly signing: KeyObject;
  private readonly verifying: KeyObject;

  constructor(secret: Buffer) {
    if (secret.length !== 32) throw new Error('a chain key is 32 bytes');
    // Separate keys for the two uses: the chain's HMAC and the anchors' Ed25519 seed.
    const hmacBytes = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'moat audit chain v1', 32));
    this.hmacKey = createSecretKey(hmacBytes);
    const seed = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'moat audit anchor v1', 32));
    this.signing = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' });
    this.verifying = createPublicKey(this.signing);
    this.publicKey = (this.verifying.export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32).toString('base64');
    this.id = hash('sha256', Buffer.concat([Buffer.from('moat audit key id\0'), hmacBytes]), 'hex').slice(0, 16);
    hmacBytes.fill(0);
  }

  /** HMAC-SHA256 (hex) of a line's covered text (or of its UTF-8 bytes). */
  mac(text: string | Uint8Array): string {
    return createHmac('sha256', this.hmacKey).update(text).digest('hex');
  }

  /** Whether `mac` is the mac of `text` (compared in constant time). */
  checkMac(text: string, mac: string): boolean {
    const want = Buffer.from(this.mac(text), 'hex');
    const got = Buffer.from(mac, 'hex');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** Ed25519 signature (base64) of `text`. */
  sign(text: string): string {
    return sign(null, Buffer.from(text), this.signing).toString('base64');
  }

  checkSignature(text: string, signature: string): boolean {
    try {
      return verify(null, Buffer.from(text), this.verifying, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }
}

/** The key in `path`, or null when there is no such file. A file that is not a key is refused, never replaced. */
export function loadChainKey(path: string): ChainKey | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new GatewayError(
      'config_invalid',
      `cannot read the audit chain key ${path} (${code ?? 'error'}): the gateway's user must be able to read it (audit.keyFile)`,
    );
  }
  if (!KEY_TEXT.test(text)) {
    throw new GatewayError(
      'config_invalid',
      `${path} is not an audit chain key (32 bytes in base64): restore it from a backup; a new key cannot check what the old one keyed (docs/audit.md)`,
    );
  }
  return new ChainKey(Buffer.from(text, 'base64'));
}

/**
 * The key in `path`, created (0600, in a directory created 0700 when missing) on first boot. Two
 * gateways starting at once agree: the file appears whole or not at all (written aside, then linked).
 */
export function loadOrCreateChainKey(path: string): { key: ChainKey; created: boolean } {
  const found = loadChainKey(path);
  if (found) return { key: found, created: false };
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new GatewayError(
      'config_invalid',
      `cannot create the audit chain key ${path} (${code}): make ${dir} writable by the gateway's user for its first start, or set audit.keyFile (--audit-key-file, MOAT_AUDIT_KEY_FILE) to a place outside the data dir`,
    );
  }
  const key = loadChainKey(path);
  if (!key) throw new GatewayError('config_invalid', `the audit chain key ${path} disappeared while it was created`);
  return { key, created: true };
}
