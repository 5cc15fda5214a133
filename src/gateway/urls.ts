/**
 * Every URL the gateway gives out, built in one place: its own URL (gateway.json, `moat serve`'s
 * line, tests), its URL as this host reaches it (what supervised services post progress to), the
 * base of signed action links, and the host:port label of the bind. Knows the port once listening.
 */
import type { Config } from '../config/schema.js';

/** `host` as it goes in a URL or a host:port label: IPv6 in brackets. */
function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export interface UrlsOptions {
  /** The bind address (config.host, restart-only). */
  host: string;
  /** The port asked for (config.port; 0 means any): the label's port until listening. */
  port: number;
  tls: boolean;
  /** The live configuration: tasks.linkBaseUrl and publicNames are read at each call. */
  config: () => Readonly<Pick<Config, 'tasks' | 'publicNames'>>;
}

export class GatewayUrls {
  private bound: number | null = null;

  constructor(private readonly opts: UrlsOptions) {}

  /** The scheme of every URL here (and the X-Forwarded-Proto the proxy sends services). */
  get scheme(): 'https' | 'http' {
    return this.opts.tls ? 'https' : 'http';
  }

  /** The listener is up on `port` (the one the OS gave for port 0). */
  listening(port: number): void {
    this.bound = port;
  }

  /** The port listened on; throws before the listener is up. */
  get port(): number {
    if (this.bound === null) throw new Error('gateway not started');
    return this.bound;
  }

  /** The gateway's URL as bound (gateway.json, `moat serve`'s line). */
  get url(): string {
    return `${this.scheme}://${hostPart(this.opts.host)}:${this.port}`;
  }

  /** The gateway's URL as seen from this host (all interfaces are reached on loopback); null before listening. */
  get local(): string | null {
    if (this.bound === null) return null;
    const host = this.opts.host === '0.0.0.0' ? '127.0.0.1' : this.opts.host === '::' ? '::1' : this.opts.host;
    return `${this.scheme}://${hostPart(host)}:${this.bound}`;
  }

  /**
   * Base URL of action links: tasks.linkBaseUrl, else the first publicNames entry (with this
   * gateway's port unless the name carries one), else the gateway's own URL. Read live.
   */
  get linkBase(): string {
    const config = this.opts.config();
    const configured = config.tasks.linkBaseUrl;
    if (configured !== undefined) return configured.replace(/\/+$/, '');
    const name = config.publicNames[0];
    if (name === undefined) return this.url;
    return /:[0-9]+$/.test(name) && !name.endsWith(']') ? `${this.scheme}://${name}` : `${this.scheme}://${name}:${this.port}`;
  }

  /** host:port as bound (IPv6 in brackets; the configured port until listening), for doctor and the heartbeat. */
  get bind(): string {
    return `${hostPart(this.opts.host)}:${this.bound ?? this.opts.port}`;
  }

  /** host:port as the boot and shutdown records have always written it (no brackets). */
  get recordBind(): string {
    return `${this.opts.host}:${this.bound ?? this.opts.port}`;
  }
}
