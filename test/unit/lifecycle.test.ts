/**
 * The gateway's one lifecycle list: parts start in order as the composition reaches them, stop in
 * reverse, a failed composition stops what it started (in reverse) and rethrows, a failing stop does
 * not keep the others from stopping, and stop() is idempotent.
 */
import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../../src/gateway/lifecycle.js';

function recorder() {
  const events: string[] = [];
  const failures: string[] = [];
  const life = new Lifecycle((name, err) => failures.push(`${name}: ${(err as Error).message}`));
  const part = (name: string, opts: { failStart?: boolean; failStop?: boolean } = {}) =>
    life.part(
      name,
      async () => {
        if (opts.failStart) throw Object.assign(new Error(`${name} refused`), { code: 'EADDRINUSE' });
        events.push(`start ${name}`);
        return name.toUpperCase();
      },
      async (value) => {
        events.push(`stop ${name} (${value})`);
        if (opts.failStop) throw new Error(`${name} stuck`);
      },
    );
  return { life, part, events, failures };
}

describe('the lifecycle list', () => {
  it('starts parts in order and stops them in reverse, each stop getting what its start made', async () => {
    const { life, part, events } = recorder();
    const made = await life.start(
      async () => [await part('audit'), await part('database'), await part('http')],
      () => undefined,
    );
    expect(made).toEqual(['AUDIT', 'DATABASE', 'HTTP']);
    expect(life.names).toEqual(['audit', 'database', 'http']);
    await life.stop();
    expect(events).toEqual(['start audit', 'start database', 'start http', 'stop http (HTTP)', 'stop database (DATABASE)', 'stop audit (AUDIT)']);
  });

  it('rolls back when a start fails: says why first, stops the parts started in reverse, and rethrows', async () => {
    const { life, part, events } = recorder();
    const heard: string[] = [];
    const composing = life.start(
      async () => {
        await part('audit');
        await part('database');
        await part('listener', { failStart: true });
        await part('heartbeat');
      },
      (err) => heard.push(`${(err as { code: string }).code} before ${events.length} events`),
    );
    await expect(composing).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(heard).toEqual(['EADDRINUSE before 2 events']);
    expect(events).toEqual(['start audit', 'start database', 'stop database (DATABASE)', 'stop audit (AUDIT)']);
  });

  it('keeps stopping the others when one stop throws, and reports it', async () => {
    const { life, part, events, failures } = recorder();
    await life.start(
      async () => {
        await part('a');
        await part('b', { failStop: true });
        await part('c');
      },
      () => undefined,
    );
    await life.stop();
    expect(events.filter((e) => e.startsWith('stop'))).toEqual(['stop c (C)', 'stop b (B)', 'stop a (A)']);
    expect(failures).toEqual(['b: b stuck']);
  });

  it('stops once however often stop() is called, and refuses a part started after the stop began', async () => {
    const { life, part, events } = recorder();
    await life.start(
      async () => part('a'),
      () => undefined,
    );
    await Promise.all([life.stop(), life.stop()]);
    await life.stop();
    expect(events).toEqual(['start a', 'stop a (A)']);
    await expect(part('late')).rejects.toThrow(/after the gateway began to stop/);
  });
});
