/**
 * TLS material for the listener: the operator's certificate and key, or a per-install self-signed
 * ECDSA P-256 certificate under <dataDir>/tls/ (key 0600), reused until it no longer covers the
 * bound names or is within 30 days of expiry. Reads and writes <dataDir>/tls only.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync, chmodSync } from 'node:fs';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { GatewayError } from '../errors.js';
import { ensureDir, readIfExists, writeFileAtomic } from '../store/files.js';
import { issueSelfSigned } from './self-signed.js';
import { DATA_DIR, dataDirPaths } from '../api/data-dir.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the leaf certificate, colon-separated hex (as Node prints it). */
  fingerprint: string;
  selfSigned: boolean;
  validTo: Date;
  certPath: string;
  keyPath: string;
}

export const SELF_SIGNED_DAYS = 365;
export const RENEW_WITHIN_DAYS = 30;

export function tlsDir(dataDir: string): string {
  return dataDirPaths(dataDir).tlsDir;
}

/** Names the self-signed certificate must cover: localhost, loopback, the bind address, public names. */
export function certificateNames(bindHost: string, publicNames: readonly string[]): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1']);
  if (isIP(bindHost) && bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost);
  for (const n of publicNames) {
    const bare = n.startsWith('[') ? n.slice(1, n.indexOf(']')) : n.replace(/:\d+$/, '');
    names.add(bare.toLowerCase());
  }
  return [...names];
}

function covers(cert: X509Certificate, names: readonly string[]): boolean {
  return names.every((n) => (isIP(n) ? cert.checkIP(n) !== undefined : cert.checkHost(n) !== undefined));
}

function material(certPem: string, keyPem: string, selfSigned: boolean, certPath: string, keyPath: string): TlsMaterial {
  const cert = new X509Certificate(certPem);
  return { cert: certPem, key: keyPem, fingerprint: cert.fingerprint256, selfSigned, validTo: new Date(cert.validTo), certPath, keyPath };
}

export interface LoadTlsOptions {
  dataDir: string;
  certPath?: string | undefined;
  keyPath?: string | undefined;
  names: readonly string[];
  now?: Date;
}

export function loadTls(opts: LoadTlsOptions): TlsMaterial & { issued: boolean } {
  if (opts.certPath !== undefined || opts.keyPath !== undefined) {
    if (opts.certPath === undefined || opts.keyPath === undefined) {
      throw new GatewayError('config_invalid', 'tls.cert and tls.key go together: give both --tls-cert and --tls-key');
    }
    let certPem: string;
    let keyPem: string;
    try {
      certPem = readFileSync(opts.certPath, 'utf8');
      keyPem = readFileSync(opts.keyPath, 'utf8');
    } catch (err) {
      throw new GatewayError('config_invalid', `cannot read TLS certificate or key: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certPem);
      if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('mismatch');
    } catch {
      throw new GatewayError('config_invalid', `tls.key does not match tls.cert (or one of them is not PEM): ${opts.certPath}`);
    }
    return { ...material(certPem, keyPem, false, opts.certPath, opts.keyPath), issued: false };
  }

  const paths = dataDirPaths(opts.dataDir);
  ensureDir(paths.tlsDir, DATA_DIR.tlsDir.mode);
  const certPath = paths.tlsCert;
  const keyPath = paths.tlsKey;
  const now = opts.now ?? new Date();
  const certPem = readIfExists(certPath);
  const keyPem = readIfExists(keyPath);
  if (certPem !== undefined && keyPem !== undefined) {
    try {
      const cert = new X509Certificate(certPem);
      const fresh = new Date(cert.validTo).getTime() - now.getTime() > RENEW_WITHIN_DAYS * 86_400_000;
      if (fresh && covers(cert, opts.names) && cert.checkPrivateKey(createPrivateKey(keyPem))) {
        if ((statSync(keyPath).mode & 0o777) !== DATA_DIR.tlsKey.mode) chmodSync(keyPath, DATA_DIR.tlsKey.mode);
        return { ...material(certPem, keyPem, true, certPath, keyPath), issued: false };
      }
    } catch {
      // unreadable or mismatched: issue a new one below
    }
  }
  return { ...reissueSelfSigned(opts.dataDir, opts.names, now), issued: true };
}

/** Issues a new per-install self-signed certificate for `names` into <dataDir>/tls/ (key 0600). */
export function reissueSelfSigned(dataDir: string, names: readonly string[], now = new Date()): TlsMaterial {
  const paths = dataDirPaths(dataDir);
  ensureDir(paths.tlsDir, DATA_DIR.tlsDir.mode);
  const certPath = paths.tlsCert;
  const keyPath = paths.tlsKey;
  const issued = issueSelfSigned(names, SELF_SIGNED_DAYS, now);
  writeFileAtomic(keyPath, issued.keyPem, DATA_DIR.tlsKey.mode);
  writeFileAtomic(certPath, issued.certPem, DATA_DIR.tlsCert.mode);
  return material(issued.certPem, issued.keyPem, true, certPath, keyPath);
}

/** The names (DNS names and IP addresses) a certificate covers, from its SubjectAltName. */
export function namesOfCertificate(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  const names: string[] = [];
  for (const part of san.split(',')) {
    const entry = part.trim();
    if (entry.startsWith('DNS:')) names.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) names.push(ipaddr.parse(entry.slice(11)).toString());
  }
  return names;
}
