/**
 * The self-signed certificate's encoder, read back by node:crypto's X509Certificate and by openssl:
 * validity dates on both sides of 2050 (UTCTime until 2049, GeneralizedTime from 2050, RFC 5280
 * 4.1.2.5), and names it cannot write as given (non-ASCII) refused instead of mangled.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { certificateFor } from '../../src/http/self-signed.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const DAY = 86_400_000;
const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'moat-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The tag byte of notBefore and notAfter inside the DER (0x17 UTCTime, 0x18 GeneralizedTime). */
function validityTags(pem: string): number[] {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const tags: number[] = [];
  for (let i = 0; i < der.length - 2; i++) {
    const tag = der[i] as number;
    const len = der[i + 1] as number;
    if ((tag === 0x17 && len === 13 && der[i + 14] === 0x5a) || (tag === 0x18 && len === 15 && der[i + 16] === 0x5a)) {
      tags.push(tag);
      i += len + 1;
    }
  }
  return tags;
}

function opensslDates(pem: string): { notBefore: Date; notAfter: Date } {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem);
  const out = spawnSync('openssl', ['x509', '-in', file, '-noout', '-startdate', '-enddate'], { encoding: 'utf8' });
  expect(out.status).toBe(0);
  const get = (key: string) => new Date(/=(.*)$/m.exec(out.stdout.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? '');
  return { notBefore: get('notBefore'), notAfter: get('notAfter') };
}

describe('validity dates', () => {
  const cases: Array<[string, string, number, number[]]> = [
    // name, issued at, valid days, expected tags [notBefore, notAfter]
    ['a year from now, both in UTCTime', '2026-11-23T10:00:00Z', 365, [0x17, 0x17]],
    ['ending on the last second of 2049, still UTCTime', '2049-01-01T00:00:01Z', 364, [0x17, 0x17]],
    ['ending in 2050, GeneralizedTime for notAfter', '2049-06-01T00:00:00Z', 365, [0x17, 0x18]],
    ['issued and ending after 2050, both GeneralizedTime', '2060-03-01T12:34:56Z', 365, [0x18, 0x18]],
    ['ending in 2101', '2100-12-01T00:00:00Z', 60, [0x18, 0x18]],
  ];
  it.each(cases)('writes %s and reads back the same instants', (_name, issued, days, tags) => {
    const now = new Date(issued);
    const pem = certificateFor(privateKey, ['localhost', '127.0.0.1'], days, now);
    const notBefore = new Date(now.getTime() - 3600_000);
    const notAfter = new Date(now.getTime() + days * DAY);
    expect(validityTags(pem)).toEqual(tags);
    const cert = new X509Certificate(pem);
    expect(new Date(cert.validFrom).getTime()).toBe(notBefore.getTime());
    expect(new Date(cert.validTo).getTime()).toBe(notAfter.getTime());
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.verify(cert.publicKey)).toBe(true);
    if (openssl) {
      const dates = opensslDates(pem);
      expect(dates.notBefore.getTime()).toBe(notBefore.getTime());
      expect(dates.notAfter.getTime()).toBe(notAfter.getTime());
    }
  });

  it('refuses a validity past the year 9999 instead of writing a wrong year', () => {
    expect(() => certificateFor(privateKey, ['localhost'], 365, new Date('9999-12-01T00:00:00Z'))).toThrow(/out of range/);
  });
});

describe('names', () => {
  it.each([
    ['a Unicode (non-punycode) name', 'bücher.example'],
    ['a name whose low bytes spell another name', 'ŭocalhost'], // U+016D: 'ascii' would keep 0x6d 'm'
    ['a name with a NUL', 'localhost\u0000.evil.com'],
    ['a name with a space', 'local host'],
    ['an empty name', ''],
  ])('refuses %s with config_invalid', (_name, name) => {
    expect(() => certificateFor(privateKey, ['localhost', name], 30)).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });

  it('writes the punycode form of an internationalized name, which the certificate then covers', () => {
    const cert = new X509Certificate(certificateFor(privateKey, ['xn--bcher-kva.example', '::1'], 30));
    expect(cert.subjectAltName).toContain('DNS:xn--bcher-kva.example');
    expect(cert.checkHost('xn--bcher-kva.example')).toBe('xn--bcher-kva.example');
    expect(cert.checkIP('::1')).toBeDefined();
  });
});
