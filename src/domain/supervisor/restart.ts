/**
 * What a service's restart policy decides when its process or container has exited on its own
 * (not stopped by moat): stay down, stop, fail for good, or restart after a backoff delay. Pure:
 * the unit applies the decision (transitions, audit, timers).
 */
import { backoffDelay, type RestartSpec } from '../services/spec.js';

export interface ExitFacts {
  /** moat ended it because it was unhealthy (a crash was not announced). */
  unhealthy: boolean;
  /** The same start would fail the same way (no engine, an image that may not be pulled). */
  fatal: boolean;
  code: number | null;
  uptimeMs: number;
  /** Failures in a row before this exit. */
  failures: number;
}

export type AfterExit =
  | { action: 'stay-down' }
  | { action: 'stopped' }
  | { action: 'fail'; failures: number; why: string }
  | { action: 'backoff'; failures: number; delayMs: number };

export function afterExit(restart: RestartSpec, exit: ExitFacts, spawnError?: string): AfterExit {
  if (exit.fatal) return { action: 'fail', failures: exit.failures + 1, why: spawnError ?? 'cannot start' };
  if (restart.policy === 'never') return { action: 'stay-down' };
  // A clean exit under on-failure is the service's own choice to stop.
  if (restart.policy === 'on-failure' && !exit.unhealthy && exit.code === 0) return { action: 'stopped' };
  // A run that lasted resetAfterMs forgets the failures before it.
  const failures = (exit.uptimeMs >= restart.resetAfterMs ? 0 : exit.failures) + 1;
  if (failures > restart.maxAttempts) return { action: 'fail', failures, why: 'it kept crashing' };
  return { action: 'backoff', failures, delayMs: backoffDelay(restart, failures) };
}
