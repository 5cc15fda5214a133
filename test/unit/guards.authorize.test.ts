/**
 * Authorization alone, on what it reads of a routed request (method, params): the route's declared
 * scope against the principal's, fail closed. The full route x scope matrix runs end to end in
 * test/integration/scopes.matrix.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/crypto/principal.js';
import { svcScope, type Scope } from '../../src/crypto/scopes.js';
import { authorize } from '../../src/security/authorize.js';
import type { ScopeRequirement } from '../../src/security/guard-state.js';
import { outcome } from '../helpers/refusal.js';

const who = (...scopes: string[]): Principal => ({ id: 'tok_1', name: 't', kind: 'token', scopes: new Set(scopes) });
const bySvc = ((params: unknown) => svcScope((params as { name: string }).name)) as (params: unknown) => Scope;
const auth = authorize();

describe('authorize', () => {
  it.each<[string[], ScopeRequirement | undefined, string, unknown, string]>([
    [['admin'], 'admin', 'POST', {}, 'admin'],
    [['admin'], 'jobs', 'DELETE', {}, 'jobs'],
    [['jobs'], 'jobs', 'POST', {}, 'jobs'],
    [['jobs:all'], 'jobs', 'DELETE', {}, 'jobs'],
    [['read'], 'jobs', 'GET', {}, 'jobs'],
    [['read'], 'services', 'HEAD', {}, 'services'],
    [['tasks'], ['services', 'jobs', 'tasks'], 'GET', {}, 'tasks'],
    [['svc:llm'], bySvc, 'POST', { name: 'llm' }, 'svc:llm'],
    [['services'], { exact: 'services' }, 'GET', {}, 'services'],
    [['admin'], { exact: 'services' }, 'GET', {}, 'services'],
  ])('%j on %j %s %j: allowed, scope used %s', (scopes, requirement, method, params, used) => {
    expect(auth({ method, params }, who(...scopes), requirement)).toBe(used);
  });

  it.each<[string, string[], ScopeRequirement | undefined, string, unknown]>([
    ['a route that declares no scope, even for admin', ['admin'], undefined, 'GET', {}],
    ['read on a write', ['read'], 'jobs', 'POST', {}],
    ['read on admin', ['read'], 'admin', 'GET', {}],
    ['read on metrics', ['read'], 'metrics', 'GET', {}],
    ['read on the service proxy', ['read'], bySvc, 'GET', { name: 'llm' }],
    ['read where the scope itself is needed', ['read'], { exact: 'services' }, 'GET', {}],
    ['another service', ['svc:img'], bySvc, 'GET', { name: 'llm' }],
    ['a service name that only starts like one held', ['svc:llm'], bySvc, 'GET', { name: 'llm2' }],
    ['none of a list', ['hooks'], ['services', 'jobs'], 'GET', {}],
    ['jobs for jobs:all', ['jobs'], 'jobs:all', 'GET', {}],
    ['jobs:all for another family', ['jobs:all'], 'services', 'GET', {}],
    ['no scope at all', [], 'jobs', 'GET', {}],
  ])('refuses %s with scope_required', (_what, scopes, requirement, method, params) => {
    expect(outcome(() => auth({ method, params }, who(...scopes), requirement))).toBe('scope_required');
  });

  it('names the scope that was needed in the refusal', () => {
    try {
      auth({ method: 'GET', params: { name: 'llm' } }, who('jobs'), bySvc);
      expect.unreachable();
    } catch (err) {
      expect((err as { extra?: Record<string, unknown> }).extra).toEqual({ scope: 'svc:llm' });
    }
  });
});
