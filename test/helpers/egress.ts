/** Test helpers for the egress guard: a config with defaults, an audit recorder, resolvers, loopback servers. */
import http from 'node:http';
import net from 'node:net';
import type { AuditEvent, AuditSink } from '../../src/audit/event.js';
import { loadConfig } from '../../src/config/load.js';
import type { EgressConfig } from '../../src/config/sections/egress.js';
import { Egress, type Resolver } from '../../src/egress/index.js';
import { createLogger } from '../../src/observe/logger.js';
import { LogCapture } from './gateway.js';

/** The `egress` section as the loader makes it: `values` over the defaults, validated. */
export function egressConfig(values: Record<string, unknown> = {}): EgressConfig {
  return loadConfig({ values: { egress: values } }).config.egress;
}

/** Keeps what the guard audits (the real chain is tested through a gateway in egress-gateway). */
export class AuditRecorder implements AuditSink {
  readonly events: AuditEvent[] = [];
  record(event: AuditEvent): void {
    this.events.push(event);
  }
  hasCapacity(): boolean {
    return true;
  }
}

export interface CountingResolver extends Resolver {
  calls: string[];
}

/** A resolver that answers from a table (names lowercased, trailing dots ignored); unknown names fail. */
export function tableResolver(table: Record<string, readonly string[]>): CountingResolver {
  const calls: string[] = [];
  const resolver = (async (hostname: string) => {
    calls.push(hostname);
    const name = hostname.toLowerCase().replace(/\.+$/, '');
    const answer = table[name];
    if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answer;
  }) as CountingResolver;
  resolver.calls = calls;
  return resolver;
}

/** A resolver that gives answers in turn (the last one forever): the DNS-rebinding attacker. */
export function sequenceResolver(answers: ReadonlyArray<readonly string[]>): CountingResolver {
  const calls: string[] = [];
  const resolver = (async (hostname: string) => {
    calls.push(hostname);
    return answers[Math.min(calls.length - 1, answers.length - 1)] as readonly string[];
  }) as CountingResolver;
  resolver.calls = calls;
  return resolver;
}

export interface TestEgress {
  egress: Egress;
  audit: AuditRecorder;
  logs: LogCapture;
}

export function makeEgress(values: Record<string, unknown> = {}, resolver?: Resolver): TestEgress {
  const audit = new AuditRecorder();
  const logs = new LogCapture();
  const config = egressConfig(values);
  const egress = new Egress({ config: () => config, audit, log: createLogger({ level: 'info', destination: logs }), ...(resolver ? { resolver } : {}) });
  return { egress, audit, logs };
}

export interface Listening<T extends net.Server> {
  server: T;
  port: number;
  close(): Promise<void>;
}

export function listen<T extends net.Server>(server: T, host: string, port = 0): Promise<Listening<T>> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const sockets = new Set<net.Socket>();
      server.on('connection', (s: net.Socket) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      resolve({
        server,
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/** A TCP listener that only counts the connections it gets (the thing an SSRF must never reach). */
export async function countingListener(host: string, port = 0): Promise<Listening<net.Server> & { connections: () => number }> {
  let count = 0;
  const l = await listen(
    net.createServer((s) => {
      count++;
      s.destroy();
    }),
    host,
    port,
  );
  return { ...l, connections: () => count };
}

/** An HTTP server with a handler, on host (port 0 unless given). */
export function httpServer(host: string, handler: http.RequestListener, port = 0): Promise<Listening<http.Server>> {
  return listen(http.createServer(handler), host, port);
}
