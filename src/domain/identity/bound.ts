/**
 * Connections that outlive a request (event streams, proxied WebSockets) end when the token or
 * console session they came in with stops working: at once when it is revoked, signed out or (the
 * admin token, which ends every session too) rotated, within
 * `sweepMs` when it expires. A request is checked when it arrives; a stream is held to the same rule
 * for as long as it is open. Auth off (the anonymous principal) binds nothing.
 */
import type { Principal } from '../../crypto/principal.js';
import type { TokenService } from './tokens.js';

/** What a stream is bound to: tokens, and console sessions (ids `ses_...`) beside them. */
export interface Credentials {
  isActive(id: string): boolean;
  onEnded(fn: (id: string, reason: EndReason) => void): () => void;
}

export type EndReason = 'revoked' | 'rotated' | 'expired' | 'signed_out';

interface Held {
  tokenId: string;
  close: (reason: EndReason) => void;
}

export class TokenBound {
  private readonly held = new Set<Held>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly tokens: Pick<TokenService, 'isActive' | 'onEnded'> | Credentials,
    private readonly sweepMs = 1000,
  ) {
    tokens.onEnded((id, reason) => this.end((h) => h.tokenId === id, reason));
  }

  /** Calls `close` when `principal`'s token stops working; returns the unbind (call it when the stream closes). */
  bind(principal: Principal | null | undefined, close: (reason: EndReason) => void): () => void {
    if (!principal || principal.kind === 'anonymous') return () => undefined;
    const h: Held = { tokenId: principal.id, close };
    this.held.add(h);
    if (this.timer === null) {
      this.timer = setInterval(() => this.end((x) => !this.tokens.isActive(x.tokenId), 'expired'), this.sweepMs);
      this.timer.unref();
    }
    return () => this.release(h);
  }

  get size(): number {
    return this.held.size;
  }

  private release(h: Held): void {
    this.held.delete(h);
    if (this.held.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private end(matches: (h: Held) => boolean, reason: EndReason): void {
    for (const h of [...this.held]) {
      if (!matches(h)) continue;
      this.release(h);
      try {
        h.close(reason);
      } catch {
        // A closer that throws (a socket torn down meanwhile) must not keep the others open.
      }
    }
  }
}
