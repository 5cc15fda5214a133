/**
 * Doctor checks of recent activity at the door: authentication failures and lockouts over the last
 * 24 hours (counted by the pipeline on every refusal, in hourly buckets). Pure functions.
 */
import type { Check, Finding } from './types.js';

type Result = Omit<Finding, 'id'>;

const failures: Check = {
  id: 'activity.auth-failures',
  needs: 'gateway',
  run(ctx): Result {
    const g = ctx.gateway!;
    const { authFailures24h, credentialFailures24h } = g.activity;
    const after = g.config.lockout.after;
    const shown = `${authFailures24h} authentication failure(s) in the last 24 h, ${credentialFailures24h} with a wrong token or pairing code`;
    // As many wrong credentials as lock one client out: someone is guessing, or a client holds a stale token.
    if (credentialFailures24h >= after) {
      return {
        severity: 'warn',
        finding: `${shown} (lockout.after is ${after})`,
        fix: 'moat audit tail | grep auth.failure shows who and from where; revoke or rotate what leaked',
      };
    }
    return { severity: 'ok', finding: shown, fix: 'none needed' };
  },
};

const lockouts: Check = {
  id: 'activity.lockouts',
  needs: 'gateway',
  run(ctx): Result {
    const n = ctx.gateway!.activity.lockouts24h;
    if (n === 0) return { severity: 'ok', finding: 'no client was locked out in the last 24 h', fix: 'none needed' };
    return {
      severity: 'warn',
      finding: `${n} lockout(s) in the last 24 h after repeated failures`,
      fix: 'moat audit tail | grep auth.lockout shows the clients; a lockout ends on its own',
    };
  },
};

export const activityChecks: Check[] = [failures, lockouts];
