/** The event bus: ids carry the boot id, the ring keeps the newest events, and since() replays or says reset. */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/domain/events/bus.js';

describe('EventBus', () => {
  it('numbers events <boot>-<seq> in order and delivers them to every subscriber', () => {
    const bus = new EventBus(100);
    const got: string[] = [];
    const off = bus.subscribe((e) => got.push(e.id));
    const a = bus.publish('job.queued', 'jobs', { id: 'j1' });
    const b = bus.publish('job.running', 'jobs', { id: 'j1' });
    expect(a.id).toBe(`${bus.bootId}-1`);
    expect(b.id).toBe(`${bus.bootId}-2`);
    expect(got).toEqual([a.id, b.id]);
    off();
    bus.publish('job.succeeded', 'jobs', { id: 'j1' });
    expect(got).toHaveLength(2);
  });

  it('replays exactly the events after an id, and nothing after the newest', () => {
    const bus = new EventBus(100);
    const ids = Array.from({ length: 10 }, (_, i) => bus.publish('t', 'jobs', { i }).id);
    expect(bus.since(ids[6]!)!.map((e) => e.id)).toEqual(ids.slice(7));
    expect(bus.since(ids[9]!)).toEqual([]);
    expect(bus.since(`${bus.bootId}-0`)!.map((e) => e.id)).toEqual(ids);
  });

  it('says reset (null) for another boot, an id ahead, garbage, or one older than the ring', () => {
    const bus = new EventBus(16);
    const ids = Array.from({ length: 100 }, (_, i) => bus.publish('t', 'jobs', { i }).id);
    expect(bus.since('00000000-5')).toBeNull();
    expect(bus.since(`${bus.bootId}-101`)).toBeNull();
    expect(bus.since('nonsense')).toBeNull();
    expect(bus.since(ids[10]!)).toBeNull();
    // The newest `capacity` events are always replayable.
    expect(bus.since(ids[100 - 17]!)!.map((e) => e.id)).toEqual(ids.slice(100 - 16));
  });

  it('keeps a subscriber that throws from stopping the others', () => {
    const bus = new EventBus(10);
    let seen = 0;
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.subscribe(() => void seen++);
    bus.publish('t', 'jobs', {});
    expect(seen).toBe(1);
  });
});
