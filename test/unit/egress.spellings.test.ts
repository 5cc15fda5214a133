/**
 * Every numeric spelling that a URL parser or resolver accepts ends up checked as the address it
 * means: decimal, octal, hex, shortened dotted forms, mixed, percent-encoded, full-width digits,
 * trailing dots, and every IPv6 form. Through Egress.check(), with a resolver that knows no name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeEgress, tableResolver } from '../helpers/egress.js';
import { IPV4_TABLE, ipv6Forms } from '../helpers/egress-tables.js';

const { egress } = makeEgress({}, tableResolver({}));
afterAll(() => egress.stop());

const octets = (ip: string) => ip.split('.').map(Number) as [number, number, number, number];
const int = (ip: string) => octets(ip).reduce((n, o) => n * 256 + o, 0);
const FULLWIDTH = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))).replace(/\./g, '\u3002');

/** [name, host spelling] of one IPv4 address, every one of which the WHATWG parser maps to it. */
function ipv4Spellings(ip: string): Array<readonly [string, string]> {
  const [a, b, c, d] = octets(ip);
  const n = int(ip);
  const out: Array<readonly [string, string]> = [
    ['dotted', ip],
    ['decimal integer', String(n)],
    ['hex integer', `0x${n.toString(16)}`],
    ['HEX INTEGER', `0X${n.toString(16).toUpperCase()}`],
    ['octal integer', `0${n.toString(8)}`],
    ['dotted hex', [a, b, c, d].map((o) => `0x${o.toString(16)}`).join('.')],
    ['dotted octal', [a, b, c, d].map((o) => `0${o.toString(8)}`).join('.')],
    ['dotted zero-padded hex', [a, b, c, d].map((o) => `0x${o.toString(16).padStart(8, '0')}`).join('.')],
    ['three parts', `${a}.${b}.${c * 256 + d}`],
    ['two parts', `${a}.${b * 65536 + c * 256 + d}`],
    ['two parts hex', `0x${a.toString(16)}.0x${(b * 65536 + c * 256 + d).toString(16)}`],
    ['mixed radix', `0x${a.toString(16)}.${b}.0${c.toString(8)}.${d}`],
    ['trailing dot', `${ip}.`],
    ['decimal with trailing dot', `${n}.`],
    ['percent-encoded', [...ip].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join('')],
    ['full-width digits and ideographic dots', FULLWIDTH(ip)],
  ];
  return out;
}

describe('numeric IPv4 spellings are checked as the address they mean', () => {
  const cases = IPV4_TABLE.flatMap(([ip, reason]) =>
    ipv4Spellings(ip).map(([name, host]) => [`http://${host}/ (${name} of ${ip})`, `http://${host}/`, ip, reason] as const),
  );
  it.each(cases)('%s', async (_name, url, ip, reason) => {
    const r = await egress.check(url, 'fetch');
    expect(r.reason).toBe(reason);
    expect(r.allowed).toBe(reason === 'allowed');
    expect(r.addresses).toEqual([ip]);
  });
});

describe('IPv6 literals, including every form that embeds IPv4, are checked as the address they reach', () => {
  const cases = IPV4_TABLE.flatMap(([ip, reason]) =>
    ipv6Forms(ip, reason).map(([form, v6, expected]) => [`http://[${v6}]/ (${form} of ${ip})`, `http://[${v6}]/`, expected] as const),
  );
  it.each(cases)('%s', async (_name, url, reason) => {
    const r = await egress.check(url, 'fetch');
    expect(r.reason).toBe(reason);
    expect(r.allowed).toBe(reason === 'allowed');
  });
});

describe('the spellings an attacker tries first', () => {
  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://127.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://0x7f.0.0.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0x7F.1/', 'loopback'],
    ['http://127.000.000.001/', 'loopback'],
    ['http://0/', 'unspecified'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0x0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://[::1]/', 'loopback'],
    ['http://[0:0:0:0:0:0:0:1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[::FFFF:7F00:1]/', 'loopback'],
    ['http://[::127.0.0.1]/', 'loopback'],
    ['http://[::ffff:0:127.0.0.1]/', 'loopback'],
    ['http://[64:ff9b::7f00:1]/', 'loopback'],
    ['http://[64:ff9b::127.0.0.1]/', 'loopback'],
    ['http://[2002:7f00:1::]/', 'loopback'],
    ['http://[2002:7f00:0001::1]/', 'loopback'],
    ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', 'loopback'], // Teredo, client ~7f00:0001
    ['http://[fe80::1%25eth0]/', 'unparseable'], // zone ids are not URL syntax
    ['http://[fe80::1]/', 'link_local'],
    ['http://169.254.169.254/', 'metadata'],
    ['http://169.254.169.254./', 'metadata'],
    ['http://2852039166/', 'metadata'],
    ['http://0xa9fea9fe/', 'metadata'],
    ['http://0251.0376.0251.0376/', 'metadata'],
    ['http://169.254.43518/', 'metadata'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://[::ffff:a9fe:a9fe]/', 'metadata'],
    ['http://[64:ff9b::a9fe:a9fe]/', 'metadata'],
    ['http://[2002:a9fe:a9fe::]/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://[FD00:EC2:0:0:0:0:0:254]/', 'metadata'],
    ['http://100.100.100.200/', 'metadata'],
    ['http://1684300999/', 'carrier_grade_nat'], // 100.100.100.199
    ['http://1684301000/', 'metadata'], // 100.100.100.200
    ['http://0127.0.0.1/', 'allowed'], // octal 0127 = 87: 87.0.0.1, a public address
    ['http://10.1/', 'private'],
    ['http://192.168.1/', 'private'],
    ['http://0xc0a80101/', 'private'],
    ['http://172.16.1/', 'private'],
    ['http://100.64.1/', 'carrier_grade_nat'],
    ['http://255.255.255.255/', 'broadcast'],
    ['http://4294967295/', 'broadcast'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://[fc00::1]/', 'unique_local'],
    ['http://198.18.0.1/', 'benchmarking'],
    ['http://①②⑦.0.0.1/', 'loopback'],
    ['http://１２７.０.０.１/', 'loopback'],
    ['http://127。0。0。1/', 'loopback'],
    ['http://%31%32%37.0.0.1/', 'loopback'],
    ['http://127.0.0.1:80/', 'loopback'],
    ['http://127.0.0.1:8080/', 'loopback'],
    ['https://127.0.0.1:443/', 'loopback'],
    ['http:/127.0.0.1/', 'loopback'],
    ['http:127.0.0.1/', 'loopback'],
    ['http:\\\\127.0.0.1\\', 'loopback'],
    ['http://@127.0.0.1/', 'loopback'],
    ['HTTP://127.0.0.1/', 'loopback'],
    ['  http://127.0.0.1/  ', 'loopback'],
    ['http://127.0.0.1\t/', 'loopback'],
    ['http://8.8.8.8/', 'allowed'],
    ['http://134744072/', 'allowed'],
    ['http://[2606:4700:4700::1111]/', 'allowed'],
  ])('%s is %s', async (url, reason) => {
    const r = await egress.check(url, 'fetch');
    expect({ url, reason: r.reason, allowed: r.allowed }).toEqual({ url, reason, allowed: reason === 'allowed' });
  });
});
