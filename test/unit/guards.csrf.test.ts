/**
 * The console's CSRF guard alone, on the headers it reads: requests that carry the session cookie
 * from another site or another port, writes without the gateway's own Origin, the sign-in exchange
 * (login CSRF), and which requests count as cookie requests at all. End to end (a real browser):
 * test/integration/console.*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { csrfGuard, type CsrfRequest } from '../../src/security/csrf.js';
import { outcome } from '../helpers/refusal.js';

const OWN = 'http://127.0.0.1:8443';
const req = (headers: Record<string, string>): CsrfRequest => ({ headers: { host: '127.0.0.1:8443', ...headers }, socket: { remoteAddress: '127.0.0.1' } });

describe('csrf guard: requests the session cookie would authenticate', () => {
  const guard = csrfGuard({ enabled: true, https: () => false });

  it.each([
    ['a read from the console page', { 'sec-fetch-site': 'same-origin' }, false],
    ['a write from the console page', { 'sec-fetch-site': 'same-origin', origin: OWN }, true],
  ])('lets %s through', (_label, headers, write) => {
    expect(outcome(() => guard(req(headers), write))).toBe('ok');
  });

  it.each([
    ['no Sec-Fetch-Site (not a browser: it must send a bearer token)', {}, false],
    ['another site', { 'sec-fetch-site': 'cross-site' }, false],
    ['another port of this host (same-site, not same-origin)', { 'sec-fetch-site': 'same-site' }, false],
    ['a navigation typed by the user', { 'sec-fetch-site': 'none' }, false],
    ['two Sec-Fetch-Site headers joined by Node', { 'sec-fetch-site': 'same-origin, same-origin' }, false],
    ['a write without Origin', { 'sec-fetch-site': 'same-origin' }, true],
    ['a write from another origin', { 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:9999' }, true],
    ['a write whose Origin is the https twin of a plain-HTTP gateway', { 'sec-fetch-site': 'same-origin', origin: 'https://127.0.0.1:8443' }, true],
    ['a write with Origin null', { 'sec-fetch-site': 'same-origin', origin: 'null' }, true],
  ])('refuses %s with csrf_refused', (_label, headers, write) => {
    expect(outcome(() => guard(req(headers), write))).toBe('csrf_refused');
  });

  it('takes the https scheme of its own origin from the request (TLS, or a trusted proxy)', () => {
    const tls = csrfGuard({ enabled: true, https: () => true });
    expect(outcome(() => tls(req({ 'sec-fetch-site': 'same-origin', origin: 'https://127.0.0.1:8443' }), true))).toBe('ok');
    expect(outcome(() => tls(req({ 'sec-fetch-site': 'same-origin', origin: OWN }), true))).toBe('csrf_refused');
  });
});

describe('csrf guard: which requests are cookie requests', () => {
  it.each([
    ['the plain cookie over HTTP', false, 'moat_session=x', true],
    ['the __Host- cookie over HTTPS', true, '__Host-moat_session=x', true],
    ['the plain cookie over HTTPS (the __Host- name only is honoured)', true, 'moat_session=x', false],
    ['a cookie whose name only contains ours', false, 'xmoat_session=x', false],
    ['no cookie', false, undefined, false],
  ])('%s: %s', (_label, https, cookie, expected) => {
    const guard = csrfGuard({ enabled: true, https: () => https });
    expect(guard.hasCookie(req(cookie === undefined ? {} : { cookie }))).toBe(expected);
  });

  it('never sees a cookie request when the console is off', () => {
    expect(csrfGuard({ enabled: false, https: () => false }).hasCookie(req({ cookie: 'moat_session=x' }))).toBe(false);
  });
});

describe('csrf guard: the sign-in exchange (login CSRF)', () => {
  const guard = csrfGuard({ enabled: true, https: () => false });

  it.each([
    ['the console page', { 'sec-fetch-site': 'same-origin', origin: OWN }],
    ['a client that is no browser (no Sec-Fetch-Site, no Origin: curl, the CLI)', {}],
  ])('lets a sign-in from %s through', (_label, headers) => {
    expect(outcome(() => guard.signin(req(headers)))).toBe('ok');
  });

  it.each([
    ['another site', { 'sec-fetch-site': 'cross-site' }],
    ['another port', { 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:9999' }],
    ['a same-origin claim with a foreign Origin', { 'sec-fetch-site': 'same-origin', origin: 'http://evil.example' }],
    ['no Sec-Fetch-Site but a foreign Origin', { origin: 'http://evil.example' }],
  ])('refuses a sign-in from %s with csrf_refused', (_label, headers) => {
    expect(outcome(() => guard.signin(req(headers)))).toBe('csrf_refused');
  });
});
