/** The scope rule and fail-closed route declarations. */
import { describe, expect, it } from 'vitest';
import { routePolicy } from '../../src/http/route-policy.js';
import { isScope, scopeAllows } from '../../src/crypto/scopes.js';

describe('scopeAllows', () => {
  const held = (...s: string[]) => new Set(s);
  it.each([
    [['admin'], 'admin', 'POST', true],
    [['admin'], 'svc:llm', 'POST', true],
    [['read'], 'jobs', 'GET', true],
    [['read'], 'jobs', 'HEAD', true],
    [['read'], 'jobs', 'POST', false],
    [['read'], 'admin', 'GET', false],
    [['read'], 'svc:llm', 'GET', false],
    [['read'], 'metrics', 'GET', false],
    [['jobs'], 'jobs', 'POST', true],
    [['jobs'], 'services', 'GET', false],
    [['svc:llm'], 'svc:llm', 'POST', true],
    [['svc:llm'], 'svc:img', 'GET', false],
    [['metrics'], 'metrics', 'GET', true],
    [['jobs:all'], 'jobs', 'POST', true],
    [['jobs:all'], 'jobs', 'DELETE', true],
    [['jobs:all'], 'services', 'GET', false],
    [['jobs:all'], 'admin', 'GET', false],
    [['jobs'], 'jobs:all', 'GET', false],
    [['read'], 'jobs:all', 'GET', false],
  ])('%j for %s %s -> %s', (scopes, required, method, expected) => {
    expect(scopeAllows(held(...scopes), required, method)).toBe(expected);
  });

  it.each([['admin'], ['read'], ['jobs'], ['jobs:all'], ['svc:llm'], ['svc:a-b-1']])('accepts the scope %s', (s) => expect(isScope(s)).toBe(true));
  it.each([['root'], ['svc:'], ['svc:A'], ['svc:a b'], ['svc:-x'], ['READ'], [''], ['jobs:any'], ['tasks:all'], ['jobs:ALL']])('refuses the scope %j', (s) =>
    expect(isScope(s)).toBe(false),
  );
});

describe('route declarations fail closed', () => {
  it('refuses a bearer route without a scope at registration', () => {
    expect(() => routePolicy({ method: 'GET', url: '/x', config: {} } as never)).toThrow(/declares no scope/);
  });
  it('accepts a route with its own auth mode', () => {
    expect(routePolicy({ method: 'POST', url: '/hooks/:name', config: { auth: 'signature', rateClass: 'hooks' } } as never)).toMatchObject({
      auth: 'signature',
      rateClass: 'hooks',
      write: true,
    });
  });
});
