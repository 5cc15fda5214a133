/**
 * createGateway(options): a gateway's lifecycle, and nothing else. validate() checks everything that
 * can be checked before touching the disk or the network (gateway/plan.ts); start() builds and starts
 * every part in dependency order (gateway/compose.ts) into one lifecycle list; stop() drains, then
 * stops the list in reverse (idempotent). The CLI and the tests use it; tests reach parts by `parts`.
 */
import type { Config } from './config/schema.js';
import type { LoadedConfig } from './config/load.js';
import { composeGateway, VERSION, type Parts, type RunState } from './gateway/compose.js';
import { Lifecycle } from './gateway/lifecycle.js';
import { planGateway, type GatewayOptions, type Plan } from './gateway/plan.js';
import type { Logger } from './observe/logger.js';

export { GATEWAY_FILE, auditKeyInfo, doctorOffline, modeOf, offlineAuditPaths, runningGatewayPid, verifyAuditDir } from './gateway/offline.js';
export type { GatewayOptions } from './gateway/plan.js';
export type { Parts } from './gateway/compose.js';

/** What gateway.json says: where the gateway serving a data dir is, for clients. */
export interface GatewayInfo {
  url: string;
  pid: number;
  tlsFingerprint: string | null;
  startedAt: string;
}

type State = 'new' | 'validated' | 'starting' | 'started' | 'stopping' | 'stopped';

export class Gateway {
  private plan: Plan | null = null;
  private built: Parts | null = null;
  private life: Lifecycle | null = null;
  private readonly run: RunState = { draining: false, stopReason: null, failure: null, startedAt: 0 };
  private state: State = 'new';
  private starting: Promise<unknown> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: GatewayOptions = {}) {}

  private get validated(): Plan {
    if (!this.plan) throw new Error('gateway not validated');
    return this.plan;
  }

  /** Every part of the running gateway (throws before start()). */
  get parts(): Parts {
    if (!this.built) throw new Error('gateway not started');
    return this.built;
  }

  get version(): string {
    return VERSION;
  }
  /** The configuration in force (it follows live changes). */
  get config(): Readonly<Config> {
    return this.validated.config.current;
  }
  get configSources(): LoadedConfig['sources'] {
    return this.validated.config.sources;
  }
  get dataDir(): string {
    return this.config.dataDir;
  }
  get log(): Logger {
    return this.validated.log;
  }
  get url(): string {
    return this.parts.urls.url;
  }
  get port(): number {
    return this.parts.urls.port;
  }
  /** The admin token in force (it follows a rotation). */
  get token(): string {
    return this.parts.adminToken();
  }
  get tlsFingerprint(): string | null {
    return this.built?.tls?.fingerprint ?? null;
  }
  get isDraining(): boolean {
    return this.run.draining;
  }

  /** Loads and checks the configuration and the boot matrix; builds the guards (which check their options). */
  validate(): this {
    if (this.state !== 'new') return this;
    this.plan = planGateway(this.opts);
    this.state = 'validated';
    return this;
  }

  /** Builds and starts every part in order; if one fails, the ones started stop in reverse and the error goes on. */
  async start(): Promise<this> {
    this.validate();
    if (this.state !== 'validated') throw new Error(`gateway cannot start from state ${this.state}`);
    this.state = 'starting';
    const plan = this.validated;
    const life = (this.life = new Lifecycle((part, err) => plan.log.warn({ err, part }, `${part}: stop failed`)));
    const failed = (err: unknown) => {
      const code = (err as { code?: unknown }).code;
      this.run.failure = { code: typeof code === 'string' ? code : 'error' };
    };
    const starting = life.start((l) => composeGateway(plan, l, this.run), failed);
    this.starting = starting;
    try {
      this.built = await starting;
      this.state = 'started';
    } catch (err) {
      this.state = 'stopped';
      throw err;
    }
    return this;
  }

  /**
   * Drains and stops. For up to drainTimeoutSeconds the listener stays open: new requests hear 503
   * draining (health {"status":"draining"}), requests already admitted finish, and the jobs running
   * get the same window to finish (none is claimed any more). Then the listener closes, what is left
   * is cut (those jobs run again after the restart), the rest stops in reverse order of start, and
   * the shutdown record is the last entry, written with everything before it. Idempotent.
   */
  stop(reason = 'stop'): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.state === 'new' || this.state === 'validated') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    this.stopping = (async () => {
      // A stop during start() waits for it: a failed start has stopped its parts already.
      await this.starting?.catch(() => undefined);
      if (this.state !== 'started') return;
      this.state = 'stopping';
      this.run.draining = true;
      this.run.stopReason = reason;
      await this.life?.stop();
      this.state = 'stopped';
    })();
    return this.stopping;
  }
}

export function createGateway(options: GatewayOptions = {}): Gateway {
  return new Gateway(options).validate();
}
