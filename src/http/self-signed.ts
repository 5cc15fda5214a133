/**
 * A minimal X.509 v3 encoder for the per-install self-signed certificate (ECDSA P-256, SHA-256,
 * SubjectAltName, serverAuth). Node can make keys and parse certificates but not issue them; this
 * is the DER for exactly one shape of certificate, checked by Node's own parser and real TLS in
 * tests. Pure: takes a key pair and names, returns PEM; refuses a name it cannot write as it is.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { GatewayError } from '../errors.js';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/**
 * A validity date as RFC 5280 4.1.2.5 requires: UTCTime (YYMMDDHHMMSSZ) for 1950-2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050 on. A two-digit year of 50 or more reads back as 19YY, so a UTCTime
 * written for 2050 would make a certificate that expired a century ago.
 */
function validityTime(d: Date): Buffer {
  const year = d.getUTCFullYear();
  if (!Number.isFinite(d.getTime()) || year < 1950 || year > 9999) throw new RangeError(`certificate date out of range: ${year}`);
  const s = d.toISOString(); // 2026-11-23T10:00:00.000Z
  const rest = `${s.slice(5, 7)}${s.slice(8, 10)}${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}Z`;
  return year < 2050 ? tlv(0x17, Buffer.from(`${s.slice(2, 4)}${rest}`, 'ascii')) : tlv(0x18, Buffer.from(`${s.slice(0, 4)}${rest}`, 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const NAME = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('moat self-signed', 'utf8')))));

/**
 * A dNSName is an IA5String (RFC 5280 4.2.1.6): ASCII only, with internationalized names in their
 * A-label (punycode) form. Node's 'ascii' encoding would silently keep the low byte of any other
 * character and write a different name, so anything but printable ASCII is refused here.
 */
const DNS_NAME = /^[\x21-\x7e]{1,253}$/;

function subjectAltNames(names: readonly string[]): Buffer {
  if (names.length === 0) throw new RangeError('a certificate needs at least one name');
  const entries = names.map((n) => {
    if (isIP(n)) return tlv(0x87, Buffer.from(ipaddr.parse(n).toByteArray()));
    if (!DNS_NAME.test(n))
      throw new GatewayError('config_invalid', `certificate name ${JSON.stringify(n)} is not an ASCII DNS name (use the punycode A-label form)`);
    return tlv(0x82, Buffer.from(n.toLowerCase(), 'ascii'));
  });
  return seq(...entries);
}

export interface SelfSigned {
  certPem: string;
  keyPem: string;
}

export function issueSelfSigned(names: readonly string[], validDays: number, now = new Date()): SelfSigned {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { certPem: certificateFor(privateKey, names, validDays, now), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

export function certificateFor(privateKey: KeyObject, names: readonly string[], validDays: number, now = new Date()): string {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01; // positive and without a leading zero byte
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + validDays * 86_400_000);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const extensions = tlv(
    0xa3,
    seq(
      extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))), // keyUsage: digitalSignature
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
      extension('2.5.29.17', false, subjectAltNames(names)),
    ),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([0x02]))), // version 3
    tlv(0x02, serial),
    ECDSA_SHA256,
    NAME,
    seq(validityTime(notBefore), validityTime(notAfter)),
    NAME,
    spki,
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0x00]), signature));
  const b64 =
    der
      .toString('base64')
      .match(/.{1,64}/g)
      ?.join('\n') ?? '';
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
