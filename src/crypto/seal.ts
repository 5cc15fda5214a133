/**
 * Sealing data at rest with AES-256-GCM under a per-install key: a copied database file does not
 * leak what users sent. Layout: version byte, 12-byte IV, 16-byte tag, ciphertext. Each sealed
 * value is bound to a context string (e.g. the job id) as associated data, so a value cannot be
 * moved from one row to another undetected. No I/O.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;

export function seal(key: Buffer, plaintext: Buffer | string, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

/** Opens a sealed value; throws if it was altered, sealed under another key or another context. */
export function unseal(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length < 29 || sealed[0] !== VERSION) throw new Error('not a sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(sealed.subarray(13, 29));
  return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]);
}

export function sealJson(key: Buffer, value: unknown, context: string): Buffer {
  return seal(key, JSON.stringify(value), context);
}

export function unsealJson<T = unknown>(key: Buffer, sealed: Buffer, context: string): T {
  return JSON.parse(unseal(key, sealed, context).toString('utf8')) as T;
}
