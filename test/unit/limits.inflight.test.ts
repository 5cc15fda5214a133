/**
 * The in-flight budgets on their own: options checked at boot (a share larger than what is left
 * after the admin reserve is config_invalid), shares left unset follow their caps, admin keeps its
 * reserve, and a slot released twice is released once.
 */
import { describe, expect, it } from 'vitest';
import { inflightLimit, inflightOptions, type HeldResponse } from '../../src/security/inflight-limit.js';
import type { Principal } from '../../src/crypto/principal.js';

const who = (id: string, scopes: string[]): Principal => ({ id, name: id, kind: 'token', scopes: new Set(scopes) });
const ADMIN = who('admin', ['admin']);

describe('in-flight budget options', () => {
  it.each([
    [{ adminReservedInflight: 64 }, /adminReservedInflight/],
    [{ maxInflightPerToken: 60 }, /maxInflightPerToken/],
    [{ maxInflightPerClient: 57 }, /maxInflightPerClient/],
    [{ maxInflightUnauthenticated: 57 }, /maxInflightUnauthenticated/],
    [{ adminReservedStreams: 32 }, /adminReservedStreams/],
    [{ maxStreamsPerToken: 29 }, /maxStreamsPerToken/],
  ])('refuses %j at boot with config_invalid', (extra, message) => {
    expect(() => inflightLimit(inflightOptions({ maxInflight: 64, maxStreams: 32, ...extra }))).toThrow(message);
    try {
      inflightLimit(inflightOptions({ maxInflight: 64, maxStreams: 32, ...extra }));
    } catch (err) {
      expect((err as { code?: string }).code).toBe('config_invalid');
    }
  });

  it('derives unset shares from the caps, never past what the reserve leaves', () => {
    expect(inflightOptions({ maxInflight: 64, maxStreams: 32 })).toEqual({
      maxInflight: 64,
      adminReservedInflight: 8,
      maxInflightPerToken: 16,
      maxInflightPerClient: 32,
      maxInflightUnauthenticated: 16,
      maxStreams: 32,
      adminReservedStreams: 4,
      maxStreamsPerToken: 8,
      maxStreamsPerClient: 16,
    });
    for (const max of [1, 2, 3, 4, 7, 9, 100_000]) {
      expect(() => inflightLimit(inflightOptions({ maxInflight: max, maxStreams: max }))).not.toThrow();
    }
  });
});

describe('in-flight budgets', () => {
  it('holds a token to its share, its address to its share, and keeps the reserve for admin', () => {
    const limit = inflightLimit(inflightOptions({ maxInflight: 8, maxStreams: 4, maxInflightPerToken: 3, maxInflightPerClient: 5 }));
    const res = (): HeldResponse => {
      const r: HeldResponse = {};
      limit.enter(r);
      return r;
    };
    const a = who('a', ['read']);
    const b = who('b', ['read']);
    for (let i = 0; i < 3; i++) limit.admitPrincipal(res(), a, '203.0.113.1');
    expect(() => limit.admitPrincipal(res(), a, '203.0.113.1')).toThrow(expect.objectContaining({ code: 'concurrency_limited' }));
    for (let i = 0; i < 2; i++) limit.admitPrincipal(res(), b, '203.0.113.1');
    expect(() => limit.admitPrincipal(res(), b, '203.0.113.1')).toThrow(/this address/);
    limit.admitPrincipal(res(), who('d', ['read']), '203.0.113.2');
    limit.admitPrincipal(res(), who('e', ['read']), '203.0.113.3');
    // 7 of 8 charged, the eighth is the admin's reserve.
    expect(() => limit.admitPrincipal(res(), who('c', ['read']), '203.0.113.4')).toThrow(expect.objectContaining({ code: 'overloaded' }));
    limit.admitPrincipal(res(), ADMIN, '203.0.113.1');
    expect(() => limit.admitPrincipal(res(), ADMIN, '203.0.113.1')).toThrow(expect.objectContaining({ code: 'overloaded' }));
  });

  it('releases a slot once however many ways its request ends', () => {
    const limit = inflightLimit(inflightOptions({ maxInflight: 4, maxStreams: 2 }));
    const r: HeldResponse = {};
    limit.enter(r);
    limit.admitPrincipal(r, who('a', ['read']), '203.0.113.1');
    expect(limit.inflightCount()).toBe(1);
    expect(limit.admittedCount()).toBe(1);
    limit.leave(r);
    limit.leave(r);
    limit.leave(r);
    expect(limit.inflightCount()).toBe(0);
    expect(limit.admittedCount()).toBe(0);
    expect(limit.usage().requests).toMatchObject({ token: 0, topToken: 0, topClient: 0 });
  });

  it('counts an event stream instead of its request, and releases the stream once', () => {
    const limit = inflightLimit(inflightOptions({ maxInflight: 4, maxStreams: 4, maxStreamsPerToken: 1 }));
    const r: HeldResponse = {};
    limit.enter(r);
    const reader = who('r', ['read']);
    limit.admitPrincipal(r, reader, '203.0.113.1');
    const release = limit.openStream(reader, '203.0.113.1', r);
    expect(limit.inflightCount()).toBe(0);
    expect(limit.streamCount()).toBe(1);
    expect(() => limit.openStream(reader, '203.0.113.1')).toThrow(expect.objectContaining({ code: 'concurrency_limited' }));
    release();
    release();
    expect(limit.streamCount()).toBe(0);
    limit.leave(r);
    expect(limit.inflightCount()).toBe(0);
  });
});
