/**
 * Signed action links (approve or reject a task from a notification). Link tampering: a token is
 * `<payload>.<mac>`, both base64url, the MAC an HMAC-SHA256 under a per-install key over the exact
 * payload text, compared in constant time as text (so no character, not even the spare bits of the
 * last base64 character, can change unnoticed). The payload names one task, one action, an expiry,
 * the task's state version, a nonce and the minting principal; single use, the state binding and
 * whether the minter still holds its authority are checked by the caller. Pure: no I/O, no clock of its own.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type LinkAction = 'approve' | 'reject';
export const LINK_ACTIONS: readonly LinkAction[] = ['approve', 'reject'];

export interface LinkClaims {
  task: string;
  action: LinkAction;
  /** Expiry, unix seconds. */
  exp: number;
  /** The task's version when minted: a link for a task that changed since is stale. */
  stateVersion: number;
  /** 128 random bits: the link's identity for single use. */
  nonce: string;
  /** The principal that minted it (its authority is the link's): a link outlives no revoked token. */
  minter?: string;
}

export type LinkCheck = { ok: true; claims: LinkClaims } | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

/** Domain separation: a MAC made for something else under the same key never verifies here. */
const CONTEXT = 'moat-action-link.v1:';
const TOKEN = /^([A-Za-z0-9_-]{16,400})\.([A-Za-z0-9_-]{43})$/;
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const TASK_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MINTER = /^[A-Za-z0-9_:-]{1,128}$/;

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(CONTEXT).update(payload).digest('base64url');
}

export function newLinkNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** A token for `claims` (a fresh nonce unless one is given). */
export function mintLink(key: Buffer, claims: Omit<LinkClaims, 'nonce'> & { nonce?: string }): { token: string; claims: LinkClaims } {
  if (key.length < 32) throw new Error('link key must be at least 32 bytes');
  const full: LinkClaims = {
    task: claims.task,
    action: claims.action,
    exp: claims.exp,
    stateVersion: claims.stateVersion,
    nonce: claims.nonce ?? newLinkNonce(),
  };
  if (claims.minter !== undefined) full.minter = claims.minter;
  const payload = Buffer.from(
    JSON.stringify({
      t: full.task,
      a: full.action,
      e: full.exp,
      v: full.stateVersion,
      n: full.nonce,
      ...(full.minter === undefined ? {} : { m: full.minter }),
    }),
  ).toString('base64url');
  return { token: `${payload}.${mac(key, payload)}`, claims: full };
}

/** Checks shape, then the MAC, then expiry (a forged token never learns whether it would have expired). */
export function verifyLink(key: Buffer, token: string, nowSeconds: number): LinkCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const payload = m[1] as string;
  const expected = Buffer.from(mac(key, payload));
  const presented = Buffer.from(m[2] as string);
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return { ok: false, reason: 'signature' };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const p = raw as { t?: unknown; a?: unknown; e?: unknown; v?: unknown; n?: unknown; m?: unknown };
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.t !== 'string' ||
    !TASK_ID.test(p.t) ||
    !LINK_ACTIONS.includes(p.a as LinkAction) ||
    !Number.isSafeInteger(p.e) ||
    !Number.isSafeInteger(p.v) ||
    typeof p.n !== 'string' ||
    !NONCE.test(p.n) ||
    (p.m !== undefined && (typeof p.m !== 'string' || !MINTER.test(p.m)))
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const claims: LinkClaims = { task: p.t, action: p.a as LinkAction, exp: p.e as number, stateVersion: p.v as number, nonce: p.n };
  if (typeof p.m === 'string') claims.minter = p.m;
  if (nowSeconds >= claims.exp) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
