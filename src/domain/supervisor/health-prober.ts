/**
 * The health probe loop of one service: one probe at a time on a tick, faster while the service is
 * starting (so a start on demand answers as soon as it can), results handed to the state machine.
 * Decides nothing itself; a result that arrives after stop() is dropped.
 */
import type { ProbeResult, UpstreamClient } from '../../egress/upstream.js';
import type { ServiceDefinition } from '../services/spec.js';
import { type UpstreamHeaders, withUpstreamHeaders } from '../services/upstream-headers.js';

export interface HealthProberOptions {
  probe(): Promise<ProbeResult>;
  onResult(result: ProbeResult): void;
  intervalMs(): number;
}

/** Probe tick while starting: at most this long between probes. */
export const STARTING_TICK_MS = 100;

export class HealthProber {
  private timer: NodeJS.Timeout | null = null;
  private generation = 0;
  private running = false;
  private fast = false;

  constructor(private readonly opts: HealthProberOptions) {}

  /** Starts (or restarts) the loop; `fast` while the service is starting. The first probe runs after `firstDelayMs`. */
  start(fast: boolean, firstDelayMs = 0): void {
    this.stop();
    this.running = true;
    this.fast = fast;
    this.schedule(firstDelayMs);
  }

  /** Switches between the starting tick and the normal interval from the next probe on. */
  setFast(fast: boolean): void {
    this.fast = fast;
  }

  get active(): boolean {
    return this.running;
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    const gen = this.generation;
    this.timer = setTimeout(() => void this.tick(gen), delayMs);
    this.timer.unref();
  }

  private async tick(gen: number): Promise<void> {
    this.timer = null;
    const result = await this.opts.probe();
    if (gen !== this.generation || !this.running) return;
    this.opts.onResult(result);
    if (gen !== this.generation || !this.running) return;
    const interval = this.opts.intervalMs();
    this.schedule(this.fast ? Math.min(interval, STARTING_TICK_MS) : interval);
  }
}

/**
 * One probe of a service: its health path (with the headers moat adds upstream), or with no health
 * path `GET /` answering anything below 500 (Ollama, vLLM, llama.cpp, ComfyUI have no /health in
 * common). A container service is probed at its published endpoint (`endpoint`, null: not running).
 */
export function probeService(def: ServiceDefinition, endpoint: string | null, upstream: UpstreamClient, headers: UpstreamHeaders): Promise<ProbeResult> {
  const path = def.health.path;
  const opts = { headers: withUpstreamHeaders({}, headers), below500: path === null };
  if (def.kind === 'container') {
    if (endpoint === null) return Promise.resolve({ ok: false, status: null, error: 'not running', ms: 0 });
    return upstream.probe(endpoint, path ?? '/', def.health.timeoutMs, opts);
  }
  const url = new URL(def.baseUrl);
  const base = url.pathname.replace(/\/$/, '');
  return upstream.probe(url.origin, path === null ? `${base}/` : `${base}${path}`, def.health.timeoutMs, opts);
}
