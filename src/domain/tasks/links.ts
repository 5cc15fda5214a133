/**
 * Signed action links for pending tasks: minting (`/actions/<token>` approve and reject URLs for a
 * notification), the confirmation a GET shows, and the POST that acts. Link tampering, replay and
 * stale decisions: the token is HMAC-signed (security/signed-links.ts), expires, acts once (its
 * nonce is recorded in the same transaction as the review) and only while the task is at the
 * version it was minted for, and only while the token that minted it is not revoked. Every use and
 * every refusal is audited, never with the token.
 */
import type { AuditSink } from '../../audit/event.js';
import { GatewayError, isGatewayError, type ErrorCode } from '../../errors.js';
import { mintLink, verifyLink, type LinkAction, type LinkClaims } from '../../crypto/signed-links.js';
import type { TaskStore } from '../../store/types.js';
import type { TaskService } from './service.js';
import { LINK_ACTOR, type Reviewer, type TaskView } from './views.js';

export const MAX_LINK_TTL_SECONDS = 604_800;

export interface ActionLinksOptions {
  tasks: TaskService;
  store: TaskStore;
  /** Per-install link key (keys/links.key). */
  key: Buffer;
  audit: AuditSink;
  /** Base URL the links point at (no trailing slash). */
  baseUrl: () => string;
  defaultTtlSeconds: () => number;
  /**
   * Whether the principal that minted a link lost its authority since (a token revoked or expired):
   * the link acts with that authority, so it stops with it. Absent: links are never withdrawn.
   */
  minterRevoked?: (principalId: string) => boolean;
  now?: () => number;
}

export interface RequestMeta {
  client: string;
  requestId: string;
}

export interface LinkPreview {
  task: string;
  title: string;
  action: LinkAction;
  service: string | null;
  expiresAt: string;
}

export { LINK_ACTOR } from './views.js';

const REFUSALS: Record<'malformed' | 'signature' | 'expired' | 'minter_revoked', { code: ErrorCode; detail: string }> = {
  malformed: { code: 'link_invalid', detail: 'this is not a valid action link' },
  signature: { code: 'link_invalid', detail: 'this is not a valid action link' },
  expired: { code: 'link_expired', detail: 'this link has expired; ask for a new one' },
  minter_revoked: { code: 'link_invalid', detail: 'the token that made this link was revoked; ask for a new one' },
};

export class ActionLinks {
  private readonly now: () => number;

  constructor(private readonly opts: ActionLinksOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Approve and reject URLs for a pending_approval task, bound to its current version. The link's
   * holder approves with the minter's authority, so minting takes what approving takes
   * (TaskService.checkApprover): the scope that submits the job, and not being the task's creator.
   */
  mint(id: string, ttlSeconds: number | undefined, by: Reviewer, meta?: RequestMeta): { approve: string; reject: string; expiresAt: string } {
    const ttl = ttlSeconds ?? this.opts.defaultTtlSeconds();
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > MAX_LINK_TTL_SECONDS)
      throw new GatewayError('validation_failed', `ttlSeconds must be 60..${MAX_LINK_TTL_SECONDS}`);
    const t = this.opts.store.get(id);
    if (!t) throw new GatewayError('task_not_found', `no task ${JSON.stringify(id)}`);
    this.opts.tasks.checkApprover(t, by);
    if (t.state !== 'pending_approval')
      throw new GatewayError('task_state_invalid', `the task is ${t.state}; links are only made for pending_approval tasks`, {
        extra: { state: t.state, allowed: [] },
      });
    const exp = Math.floor(this.now() / 1000) + ttl;
    const base = this.opts.baseUrl();
    const url = (action: LinkAction) => `${base}/actions/${mintLink(this.opts.key, { task: id, action, exp, stateVersion: t.version, minter: by.id }).token}`;
    const out = { approve: url('approve'), reject: url('reject'), expiresAt: new Date(exp * 1000).toISOString() };
    this.opts.store.appendEvent({
      taskId: id,
      type: 'links.minted',
      at: this.now(),
      actorId: by.id,
      actorName: by.name,
      detail: { expiresAt: out.expiresAt, version: t.version },
      text: null,
    });
    this.opts.audit.record({
      type: 'link.minted',
      outcome: 'ok',
      actor: { id: by.id, name: by.name },
      client: meta?.client,
      requestId: meta?.requestId,
      detail: { task: id, ttlSeconds: ttl },
    });
    return out;
  }

  /** What a GET shows: the link must be valid, unexpired, unused and current (nothing is recorded). */
  preview(token: string, meta: RequestMeta): LinkPreview {
    const claims = this.check(token, meta, 'preview');
    try {
      if (this.opts.store.isLinkUsed(claims.nonce)) throw new GatewayError('link_used', 'this link was used already');
      const t = this.opts.store.get(claims.task);
      if (!t) throw new GatewayError('task_not_found', 'the task of this link no longer exists');
      if (t.version !== claims.stateVersion) throw new GatewayError('link_stale', 'the task changed after this link was made; ask for a new one');
      const view = this.opts.tasks.get(claims.task);
      return {
        task: view.id,
        title: view.title,
        action: claims.action,
        service: view.job?.service ?? null,
        expiresAt: new Date(claims.exp * 1000).toISOString(),
      };
    } catch (err) {
      this.refused(meta, 'preview', err, claims);
      throw err;
    }
  }

  /** The POST: reviews the task once, as the link says. */
  async act(token: string, meta: RequestMeta): Promise<{ action: LinkAction; task: TaskView }> {
    const claims = this.check(token, meta, 'act');
    try {
      const task = await this.opts.tasks.review(claims.task, claims.action, LINK_ACTOR, {
        link: { nonce: claims.nonce, stateVersion: claims.stateVersion, expiresAt: claims.exp * 1000 },
        client: meta.client,
        requestId: meta.requestId,
      });
      this.opts.audit.record({
        type: 'link.used',
        outcome: 'ok',
        actor: LINK_ACTOR,
        client: meta.client,
        requestId: meta.requestId,
        detail: { task: claims.task, action: claims.action },
      });
      return { action: claims.action, task };
    } catch (err) {
      this.refused(meta, 'act', err, claims);
      throw err;
    }
  }

  private check(token: string, meta: RequestMeta, use: 'preview' | 'act'): LinkClaims {
    const result = verifyLink(this.opts.key, token, Math.floor(this.now() / 1000));
    const minter = result.ok ? result.claims.minter : undefined;
    const reason = !result.ok ? result.reason : minter !== undefined && this.opts.minterRevoked?.(minter) === true ? 'minter_revoked' : null;
    if (result.ok && reason === null) return result.claims;
    const refusal = REFUSALS[reason as keyof typeof REFUSALS];
    const err = new GatewayError(refusal.code, refusal.detail);
    this.refused(meta, use, err, result.ok ? result.claims : null, reason as string);
    throw err;
  }

  private refused(meta: RequestMeta, use: 'preview' | 'act', err: unknown, claims: LinkClaims | null, reason?: string): void {
    const code = isGatewayError(err) ? err.code : 'internal';
    this.opts.audit.record({
      type: 'link.refused',
      outcome: 'denied',
      actor: LINK_ACTOR,
      client: meta.client,
      requestId: meta.requestId,
      code,
      detail: { use, reason: reason ?? code, ...(claims ? { task: claims.task, action: claims.action } : {}) },
    });
  }
}
