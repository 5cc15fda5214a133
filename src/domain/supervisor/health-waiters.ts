/**
 * Requests waiting for a service to turn healthy (a start on demand): all settled together by the
 * next transition that decides (healthy: go on; failed, stopped, unhealthy: that 503), or each by
 * its own deadline.
 */
interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export class HealthWaiters {
  private readonly waiting = new Set<Waiter>();

  settle(err: Error | null): void {
    for (const w of this.waiting) {
      if (err) w.reject(err);
      else w.resolve();
    }
    this.waiting.clear();
  }

  /** Resolves on the next healthy transition; rejects with the next refusal, or with `late()` after `timeoutMs`. */
  wait(timeoutMs: number, late: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(waiter);
        reject(late());
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiting.add(waiter);
    });
  }
}
