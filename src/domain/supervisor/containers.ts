/**
 * The supervisor's side of the container engine: one Engine API client, the install's id that
 * labels every container moat creates, the sweep at boot that removes moat's own containers left
 * by an earlier run (never one without all of moat's labels), and the engine facts `moat doctor`
 * reports. Connects to the engine only when a container service exists (or the last run had one).
 */
import { lstatSync } from 'node:fs';
import { EngineClient, type EngineVersion } from '../../egress/engine.js';
import type { Logger } from '../../observe/logger.js';
import { loadOrCreateInstallId } from '../../store/files.js';
import { LABEL_INSTANCE, LABEL_MANAGED, LABEL_SERVICE } from './container-body.js';
import { unreachableHint } from './container-runner.js';

export interface ContainerHostOptions {
  /** supervisor.containers.socket */
  socket: string;
  dataDir: string;
  log: Logger;
}

/** What `moat doctor` judges: the endpoint, its socket file, and whether the engine answers. */
export interface EngineFacts {
  endpoint: string;
  /** The socket file (null for a TCP endpoint, or when it does not exist). */
  socket: { path: string; uid: number; gid: number; mode: number; isSocket: boolean } | null;
  reachable: boolean;
  engine: EngineVersion | null;
  error: string | null;
}

export class ContainerHost {
  private client: EngineClient | null = null;
  private id: string | null = null;

  constructor(private readonly opts: ContainerHostOptions) {}

  get engine(): EngineClient {
    return (this.client ??= new EngineClient(this.opts.socket));
  }

  /** The install's id (created in the data dir on first use). */
  get instance(): string {
    return (this.id ??= loadOrCreateInstallId(this.opts.dataDir));
  }

  /**
   * Removes every container labelled as this install's (after a SIGKILL of moat they keep running:
   * a GPU held, a port bound). A container is removed only when it carries moat.managed=true and
   * this install's moat.instance, checked again here after the engine's own label filter.
   */
  async sweep(): Promise<Array<{ service: string; id: string }>> {
    const instance = this.instance;
    let found: Awaited<ReturnType<typeof this.engine.list>>;
    try {
      found = await this.engine.list([`${LABEL_MANAGED}=true`, `${LABEL_INSTANCE}=${instance}`]);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not look for containers left by the previous run');
      return [];
    }
    const removed: Array<{ service: string; id: string }> = [];
    for (const c of found) {
      if (c.labels[LABEL_MANAGED] !== 'true' || c.labels[LABEL_INSTANCE] !== instance) continue;
      const service = c.labels[LABEL_SERVICE] ?? '?';
      this.opts.log.warn({ service, container: c.id.slice(0, 12), state: c.state }, 'removing a container left over from a previous run');
      try {
        await this.engine.remove(c.id);
        removed.push({ service, id: c.id });
      } catch (err) {
        this.opts.log.warn({ service, container: c.id.slice(0, 12), err: (err as Error).message }, 'could not remove a leftover container');
      }
    }
    return removed;
  }

  /** The engine as `moat doctor` sees it. Never throws. */
  async facts(): Promise<EngineFacts> {
    const endpoint = this.engine.endpoint;
    let socket: EngineFacts['socket'] = null;
    if (endpoint.socketPath !== null) {
      try {
        const st = lstatSync(endpoint.socketPath);
        socket = { path: endpoint.socketPath, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, isSocket: st.isSocket() };
      } catch {
        socket = null;
      }
    }
    try {
      // A busy engine (Podman gathers host facts for /version) can take seconds to answer.
      const engine = await this.engine.version(AbortSignal.timeout(10_000));
      return { endpoint: endpoint.label, socket, reachable: true, engine, error: null };
    } catch (err) {
      return { endpoint: endpoint.label, socket, reachable: false, engine: null, error: unreachableHint((err as Error).message) };
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = null;
  }
}
