/**
 * The one list of a gateway's long-lived parts: each is started in order as the composition root
 * reaches it, and stopped in reverse (the last started stops first). If the composition throws, the
 * parts already started are stopped, in reverse, before the error goes on. Knows nothing of the parts.
 */

/** One long-lived part as the list holds it. */
interface StartedPart {
  readonly name: string;
  stop(): Promise<void> | void;
}

export class Lifecycle {
  private readonly started: StartedPart[] = [];
  private stopping: Promise<void> | null = null;

  /** `stopFailed` hears of a part whose stop threw (the others still stop). */
  constructor(private readonly stopFailed: (name: string, err: unknown) => void) {}

  /**
   * Runs the composition, which starts parts through part(). If it throws, `failed` hears why, the
   * parts it started stop in reverse, and the error goes on (rollback).
   */
  async start<T>(compose: (life: Lifecycle) => Promise<T>, failed: (err: unknown) => void): Promise<T> {
    try {
      return await compose(this);
    } catch (err) {
      failed(err);
      await this.stop();
      throw err;
    }
  }

  /**
   * Starts one part and puts it at the end of the list: `start` makes (or starts) it and returns what
   * the rest of the composition uses; `stop` gets that value back when the list is stopped.
   */
  async part<T>(name: string, start: () => T | Promise<T>, stop: (value: T) => Promise<void> | void): Promise<T> {
    if (this.stopping) throw new Error(`part ${name} started after the gateway began to stop`);
    const value = await start();
    this.started.push({ name, stop: () => stop(value) });
    return value;
  }

  /** The names of the parts started, in start order. */
  get names(): readonly string[] {
    return this.started.map((p) => p.name);
  }

  /** Stops every started part, last started first. Idempotent: a second call waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const part of [...this.started].reverse()) {
        try {
          await part.stop();
        } catch (err) {
          this.stopFailed(part.name, err);
        }
      }
    })();
    return this.stopping;
  }
}
