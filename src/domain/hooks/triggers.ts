/**
 * Triggers: POST /api/v1/triggers/<path> (a token with scope `hooks`) runs the action the config's
 * `triggers` list maps the path to, with placeholders filled from the query and the body. Path
 * enumeration: an unknown path is a plain 404 that never lists the known ones.
 */
import type { AuditSink } from '../../audit/event.js';
import type { Static } from '@sinclair/typebox';
import type { TriggerConfigSchema } from '../../config/sections/hooks.js';
import { GatewayError, isGatewayError } from '../../errors.js';
import type { ActionRunner, Outcome } from './actions.js';
import { idempotencyKey } from './receiver.js';
import type { Headers } from './verify/types.js';
import type { Actor } from '../../api/actor.js';

export type TriggerSpec = Static<typeof TriggerConfigSchema>;

export interface TriggerCall {
  path: string;
  body: unknown;
  query: Readonly<Record<string, unknown>>;
  headers: Headers;
  actor: Actor & { admin: boolean };
  client: string;
  requestId: string;
}

export class TriggerService {
  private readonly byPath = new Map<string, TriggerSpec>();

  constructor(private readonly opts: { triggers: readonly TriggerSpec[]; actions: ActionRunner; audit: AuditSink }) {
    for (const t of opts.triggers) this.byPath.set(t.path, t);
  }

  /** Puts the triggers of a live change in force (checked with check() first). */
  setTriggers(triggers: readonly TriggerSpec[]): void {
    this.byPath.clear();
    for (const t of triggers) this.byPath.set(t.path, t);
  }

  /** Boot check: each path once. */
  static check(triggers: readonly TriggerSpec[]): void {
    const seen = new Set<string>();
    for (const t of triggers) {
      if (seen.has(t.path)) throw new GatewayError('config_invalid', `triggers: the path ${JSON.stringify(t.path)} is used twice`);
      seen.add(t.path);
    }
  }

  async call(c: TriggerCall): Promise<Outcome> {
    const base = {
      type: 'trigger.call' as const,
      actor: { id: c.actor.id, name: c.actor.name },
      client: c.client,
      requestId: c.requestId,
      method: 'POST',
      route: '/api/v1/triggers/*',
    };
    const trigger = this.byPath.get(c.path);
    if (!trigger) {
      this.opts.audit.record({ ...base, outcome: 'denied', code: 'trigger_not_found', detail: { reason: 'unknown_path' } });
      throw new GatewayError('trigger_not_found', 'no trigger at this path');
    }
    const key = idempotencyKey(c.headers);
    try {
      const prepared = this.opts.actions.prepare(trigger.action, { body: c.body ?? {}, query: c.query, headers: c.headers });
      const outcome = await this.opts.actions.run(
        prepared,
        { id: c.actor.id, name: c.actor.name, admin: c.actor.admin },
        `trigger:${c.path}`,
        key === undefined ? undefined : { scope: `trigger:${c.path}`, id: `${c.actor.id}:${key}` },
      );
      this.opts.audit.record({
        ...base,
        outcome: 'ok',
        detail: { path: c.path, duplicate: outcome.duplicate, ...(outcome.job ? { job: outcome.job } : {}), ...(outcome.task ? { task: outcome.task } : {}) },
      });
      return outcome;
    } catch (err) {
      const code = isGatewayError(err) ? err.code : 'internal';
      this.opts.audit.record({ ...base, outcome: 'error', code, detail: { path: c.path, reason: code } });
      throw err;
    }
  }
}
