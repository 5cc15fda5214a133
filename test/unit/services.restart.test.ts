/** The restart policy's decision after a service exits on its own: a table per policy, with the failure counter and its reset. */
import { describe, expect, it } from 'vitest';
import { afterExit, type ExitFacts } from '../../src/domain/supervisor/restart.js';
import type { RestartSpec } from '../../src/domain/services/spec.js';

const spec = (policy: RestartSpec['policy']): RestartSpec => ({ policy, maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1_000, resetAfterMs: 60_000 });
const exit = (over: Partial<ExitFacts> = {}): ExitFacts => ({ unhealthy: false, fatal: false, code: 1, uptimeMs: 500, failures: 0, ...over });

describe('afterExit', () => {
  it.each([
    ['never: a crash stays down', 'never', exit(), { action: 'stay-down' }],
    ['never: an unhealthy restart stays down', 'never', exit({ unhealthy: true }), { action: 'stay-down' }],
    ['on-failure: a clean exit is a stop', 'on-failure', exit({ code: 0 }), { action: 'stopped' }],
    [
      'on-failure: a clean exit after moat ended it as unhealthy restarts',
      'on-failure',
      exit({ code: 0, unhealthy: true }),
      { action: 'backoff', failures: 1, delayMs: 100 },
    ],
    ['on-failure: a signal (no code) restarts', 'on-failure', exit({ code: null }), { action: 'backoff', failures: 1, delayMs: 100 }],
    ['always: a clean exit restarts', 'always', exit({ code: 0 }), { action: 'backoff', failures: 1, delayMs: 100 }],
    ['always: the delay doubles per failure in a row', 'always', exit({ failures: 2 }), { action: 'backoff', failures: 3, delayMs: 400 }],
    ['always: the failure after maxAttempts fails for good', 'always', exit({ failures: 3 }), { action: 'fail', failures: 4, why: 'it kept crashing' }],
    [
      'always: a run of resetAfterMs forgets earlier failures',
      'always',
      exit({ failures: 3, uptimeMs: 60_000 }),
      { action: 'backoff', failures: 1, delayMs: 100 },
    ],
    [
      'always: a run just short of resetAfterMs does not',
      'always',
      exit({ failures: 3, uptimeMs: 59_999 }),
      { action: 'fail', failures: 4, why: 'it kept crashing' },
    ],
    ['never: a fatal start fails at once', 'never', exit({ fatal: true }), { action: 'fail', failures: 1, why: 'cannot start' }],
    ['always: a fatal start fails at once, whatever the attempts left', 'always', exit({ fatal: true }), { action: 'fail', failures: 1, why: 'cannot start' }],
  ] as const)('%s', (_name, policy, facts, expected) => {
    expect(afterExit(spec(policy), facts)).toEqual(expected);
  });

  it('says why a fatal start failed when the runner did', () => {
    expect(afterExit(spec('always'), exit({ fatal: true }), 'no container engine')).toEqual({ action: 'fail', failures: 1, why: 'no container engine' });
  });

  it('caps the delay at maxDelayMs', () => {
    expect(afterExit({ ...spec('always'), maxAttempts: 100 }, exit({ failures: 20 }))).toEqual({ action: 'backoff', failures: 21, delayMs: 1_000 });
  });
});
