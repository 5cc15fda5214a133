/**
 * Console helpers for HTTP-level tests: mint a console code through the API, trade it for a session
 * cookie, and send requests the way the console's page does (the cookie, `Sec-Fetch-Site:
 * same-origin`, and on writes the gateway's own `Origin`), or the way an attacker's page would.
 */
import { expect } from 'vitest';
import type { TestGateway, TestResponse } from './gateway.js';

export interface Minted {
  code: string | null;
  id: string;
  scopes: string[];
  expiresAt: string;
  console: boolean;
  signinUrl?: string;
}

export async function mintConsoleCode(g: TestGateway, scopes: string[] = ['read'], extra: Record<string, unknown> = {}): Promise<Minted & { link: string }> {
  const res = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes, console: true, ...extra } });
  expect(res.status, res.text).toBe(201);
  const link = /#signin=([A-Za-z0-9_-]+)$/.exec(res.json.signinUrl as string)?.[1];
  expect(link).toBeDefined();
  return { ...res.json, link: link as string };
}

export interface Session {
  id: string;
  /** `name=value`, as a Cookie header carries it. */
  cookie: string;
  value: string;
  setCookie: string;
  body: any;
}

/** Sets the Cookie header of a page-like request. */
export function cookieOf(res: TestResponse): { setCookie: string; pair: string; value: string } {
  const raw = res.headers['set-cookie'];
  const setCookie = (Array.isArray(raw) ? raw[0] : raw) as string;
  const pair = setCookie.split(';')[0] as string;
  return { setCookie, pair, value: pair.slice(pair.indexOf('=') + 1) };
}

/** Exchanges `code` for a session (as a non-browser client: no Sec-Fetch-Site, no Origin). */
export async function exchange(g: TestGateway, code: string, headers: Record<string, string> = {}): Promise<TestResponse> {
  return g.fetch('/api/v1/console/session', { method: 'POST', auth: false, body: { code }, headers });
}

export async function signIn(g: TestGateway, scopes: string[] = ['read']): Promise<Session> {
  const minted = await mintConsoleCode(g, scopes);
  const res = await exchange(g, minted.link);
  expect(res.status, res.text).toBe(201);
  const c = cookieOf(res);
  return { id: res.json.id, cookie: c.pair, value: c.value, setCookie: c.setCookie, body: res.json };
}

/** The gateway's own origin, as a browser on the console page sends it. */
export function originOf(g: TestGateway): string {
  return new URL(g.url).origin;
}

/** A request as the console page makes it: the cookie, same-origin fetch metadata, Origin on writes. */
export function asPage(
  g: TestGateway,
  s: Pick<Session, 'cookie'>,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = {
    cookie: s.cookie,
    'sec-fetch-site': 'same-origin',
    ...(method === 'GET' || method === 'HEAD' ? {} : { origin: originOf(g) }),
    ...init.headers,
  };
  return g.fetch(path, { method, auth: false, headers, ...(init.body === undefined ? {} : { body: init.body }) });
}
