/**
 * The scope matrix from outside: every registered route is tried with a token of every scope, and
 * the gateway must refuse exactly where the route's declared scope says so (fail closed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scopeAllows, scopeHeld } from '../../src/crypto/scopes.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const SCOPES = ['admin', 'read', 'services', 'jobs', 'hooks', 'tasks', 'tools', 'metrics', 'svc:x'];
let g: TestGateway;
const tokens = new Map<string, string>();

beforeAll(async () => {
  g = await startGateway({ rateLimit: { general: { perMinute: 1_000_000 } } });
  for (const scope of SCOPES) {
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: `t-${scope.replace(':', '-')}`, scopes: [scope] } });
    expect(res.status).toBe(201);
    tokens.set(scope, res.json.token);
  }
});
afterAll(() => g.stop());

/** Concrete path for a route pattern: parameters become `x`, a wildcard becomes `y`. */
const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, 'x').replace(/\*$/, 'y');

describe('every bearer route enforces its declared scope', () => {
  it('has routes to check, each declaring a scope or its own auth mode', () => {
    const routes = g.gw.parts.routes;
    expect(routes.length).toBeGreaterThan(5);
    for (const r of routes) expect(r.auth !== 'bearer' || r.scope !== null, `${r.method} ${r.url}`).toBe(true);
  });

  it('refuses with 403 scope_required exactly where the scope does not allow, for every route and scope', async () => {
    const mismatches: string[] = [];
    // The event stream never ends: it is checked on its own in events tests.
    for (const r of g.gw.parts.routes.filter((x) => x.auth === 'bearer' && x.method !== 'HEAD' && x.url !== '/api/v1/events')) {
      // `services (not read)`: the scope itself or admin, `read` does not stand in (service logs).
      const exact = r.scope?.endsWith(' (not read)') === true;
      // Open to every authenticated principal (GET /api/v1/me): no scope refuses it.
      const any = r.scope === 'authenticated';
      const required = r.scope === 'dynamic' ? ['svc:x'] : (r.scope as string).replace(' (not read)', '').split('|');
      for (const scope of SCOPES) {
        const res = await g.fetch(concrete(r.url), {
          method: r.method,
          auth: tokens.get(scope),
          ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: {} }),
        });
        const allowed = any || required.some((req) => (exact ? scopeHeld(new Set([scope]), req) : scopeAllows(new Set([scope]), req, r.method)));
        const refused = res.status === 403 && res.json?.code === 'scope_required';
        if (allowed === refused) mismatches.push(`${r.method} ${r.url} with ${scope}: ${res.status} ${res.json?.code}`);
        if (refused) expect(required).toContain(res.json.scope);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('named expectations', () => {
  it.each([
    ['read', 'GET', '/api/v1/status', 200],
    ['read', 'GET', '/api/v1/tokens', 403],
    ['read', 'POST', '/api/v1/tokens', 403],
    ['read', 'GET', '/api/v1/audit', 403],
    ['jobs', 'GET', '/api/v1/status', 403],
    ['metrics', 'GET', '/api/v1/status', 403],
    ['svc:x', 'GET', '/api/v1/status', 403],
    ['admin', 'GET', '/api/v1/audit', 200],
  ])('a %s token on %s %s gets %i', async (scope, method, path, status) => {
    expect((await g.fetch(path, { method, auth: tokens.get(scope) })).status).toBe(status);
  });
});
