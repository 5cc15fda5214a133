/**
 * The Prometheus registry behind GET /metrics: every metric is read at scrape time from counters the
 * gateway keeps anyway (request slots, door counters, the egress guard, the job store, the
 * supervisor, the audit writer), so nothing on the request path calls prom-client. Built on the first
 * scrape. Label values are bounded: route patterns, fixed lists and operator-registered names only.
 */
import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { DoorCounters } from './counters.js';
import { LATENCY_BUCKETS, STATUS_CLASSES, type RequestMetrics } from './request-metrics.js';

/** Use of the in-flight budgets per class, and their limits (security/inflight-limit.ts keeps them). */
export interface InflightUsage {
  requests: { total: number; admin: number; token: number; unauthenticated: number; anonymous: number; topToken: number; topClient: number };
  streams: { total: number; admin: number; token: number; topToken: number; topClient: number };
  limits: {
    maxInflight: number;
    adminReservedInflight: number;
    maxInflightPerToken: number;
    maxInflightPerClient: number;
    maxInflightUnauthenticated: number;
    maxStreams: number;
    adminReservedStreams: number;
    maxStreamsPerToken: number;
    maxStreamsPerClient: number;
  };
}

export interface MetricsSources {
  requests: RequestMetrics;
  counters: DoorCounters;
  info: { version: string; bindClass: string; tls: boolean; auth: boolean };
  inflight(): InflightUsage;
  egressRefusals(): ReadonlyArray<{ purpose: string; reason: string; count: number }>;
  toolDenials(): ReadonlyArray<{ tool: string; count: number }>;
  /** Jobs in the store by service and state (finished ones until they are purged). */
  jobs(): ReadonlyArray<{ service: string; state: string; count: number }>;
  services(): ReadonlyArray<{ name: string; state: string; restarts: number }>;
  serviceStates: readonly string[];
  audit(): { backlog: number; dropped: number };
  /** The verdict of the last heartbeat (0 ok, 1 warn, 2 fail), null before the first. */
  doctorVerdict(): number | null;
}

type Labels = Record<string, string>;
interface Value {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** A metric whose values are computed when scraped (prom-client calls get()). */
function scraped(registry: Registry, name: string, help: string, type: 'counter' | 'gauge' | 'histogram', read: () => Value[]): void {
  const metric = { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: read() }), reset: () => undefined };
  registry.registerMetric(metric as unknown as Metric);
}

const v = (value: number, labels: Labels = {}, metricName?: string): Value => (metricName === undefined ? { value, labels } : { value, labels, metricName });

export function createMetricsRegistry(src: MetricsSources): Registry {
  const registry = new Registry();
  const { counters } = src;

  scraped(registry, 'moat_info', 'This gateway: version and posture (always 1)', 'gauge', () => [
    v(1, { version: src.info.version, bind_class: src.info.bindClass, tls: String(src.info.tls), auth: String(src.info.auth) }),
  ]);

  // The door: requests, latency, refusals.
  scraped(
    registry,
    'moat_http_requests_total',
    'HTTP requests by route pattern, method and status class (aborted: closed before the response ended)',
    'counter',
    () =>
      src.requests
        .view()
        .flatMap((s) =>
          s.counts.flatMap((count, i) => (count === 0 ? [] : [v(count, { route: s.route, method: s.method, status: STATUS_CLASSES[i] as string })])),
        ),
  );
  scraped(
    registry,
    'moat_http_request_duration_seconds',
    'Time from the request arriving to its response closing, by route pattern and method',
    'histogram',
    () =>
      src.requests.view().flatMap((s) => {
        const labels = { route: s.route, method: s.method };
        const out: Value[] = [];
        let cumulative = 0;
        for (let i = 0; i < s.buckets.length; i++) {
          cumulative += s.buckets[i] as number;
          const le = i < LATENCY_BUCKETS.length ? String(LATENCY_BUCKETS[i]) : '+Inf';
          out.push(v(cumulative, { ...labels, le }, 'moat_http_request_duration_seconds_bucket'));
        }
        out.push(v(s.sum, labels, 'moat_http_request_duration_seconds_sum'), v(cumulative, labels, 'moat_http_request_duration_seconds_count'));
        return out;
      }),
  );
  scraped(registry, 'moat_http_requests_in_flight', 'Requests being handled now (health and refusals included)', 'gauge', () => [
    v(src.inflight().requests.total),
  ]);
  scraped(registry, 'moat_event_streams_open', 'Open event streams (SSE and WebSocket)', 'gauge', () => [v(src.inflight().streams.total)]);
  // The budgets (docs/deployment.md): use per class, the largest single share in use, and each limit.
  scraped(
    registry,
    'moat_inflight_budget_used',
    'In-flight budget in use by class: admin tokens, other tokens, unauthenticated routes, job progress; top_token/top_client: the most one token or address holds',
    'gauge',
    () => {
      const u = src.inflight();
      const r = u.requests;
      const s = u.streams;
      return [
        v(r.admin, { kind: 'requests', class: 'admin' }),
        v(r.token, { kind: 'requests', class: 'token' }),
        v(r.unauthenticated, { kind: 'requests', class: 'unauthenticated' }),
        v(r.anonymous, { kind: 'requests', class: 'job_progress' }),
        v(r.topToken, { kind: 'requests', class: 'top_token' }),
        v(r.topClient, { kind: 'requests', class: 'top_client' }),
        v(s.admin, { kind: 'streams', class: 'admin' }),
        v(s.token, { kind: 'streams', class: 'token' }),
        v(s.topToken, { kind: 'streams', class: 'top_token' }),
        v(s.topClient, { kind: 'streams', class: 'top_client' }),
      ];
    },
  );
  scraped(
    registry,
    'moat_inflight_budget_limit',
    'In-flight budget limits (limits.*): total, admin_reserved, per_token, per_client, unauthenticated',
    'gauge',
    () => {
      const l = src.inflight().limits;
      return [
        v(l.maxInflight, { kind: 'requests', budget: 'total' }),
        v(l.adminReservedInflight, { kind: 'requests', budget: 'admin_reserved' }),
        v(l.maxInflightPerToken, { kind: 'requests', budget: 'per_token' }),
        v(l.maxInflightPerClient, { kind: 'requests', budget: 'per_client' }),
        v(l.maxInflightUnauthenticated, { kind: 'requests', budget: 'unauthenticated' }),
        v(l.maxStreams, { kind: 'streams', budget: 'total' }),
        v(l.adminReservedStreams, { kind: 'streams', budget: 'admin_reserved' }),
        v(l.maxStreamsPerToken, { kind: 'streams', budget: 'per_token' }),
        v(l.maxStreamsPerClient, { kind: 'streams', budget: 'per_client' }),
      ];
    },
  );
  scraped(registry, 'moat_http_problems_total', 'Refusals and failures answered, by error code (docs/errors.md)', 'counter', () =>
    [...counters.problems].map(([code, n]) => v(n, { code })),
  );
  scraped(registry, 'moat_auth_failures_total', 'Authentication failures: missing or wrong token, wrong pairing code', 'counter', () =>
    [...counters.authFailures].map(([reason, c]) => v(c.total, { reason })),
  );
  scraped(registry, 'moat_lockouts_total', 'Clients locked out after repeated authentication failures', 'counter', () => [v(counters.lockouts.total)]);
  scraped(registry, 'moat_rate_limited_total', 'Requests refused by the rate limit, by rate class', 'counter', () =>
    [...counters.rateLimited].map(([cls, n]) => v(n, { class: cls })),
  );

  // The way out.
  scraped(registry, 'moat_egress_refusals_total', 'Outbound requests refused or cut off by the egress guard, by purpose and reason', 'counter', () =>
    src.egressRefusals().map((r) => v(r.count, { purpose: r.purpose, reason: r.reason })),
  );
  scraped(registry, 'moat_tool_denials_total', 'Tool invocations refused by the tool policy, by tool', 'counter', () =>
    src.toolDenials().map((d) => v(d.count, { tool: d.tool })),
  );

  // The house.
  scraped(registry, 'moat_jobs', 'Jobs in the store by service and state (finished ones until retention purges them)', 'gauge', () =>
    src.jobs().map((j) => v(j.count, { service: j.service, state: j.state })),
  );
  scraped(registry, 'moat_job_queue_depth', 'Jobs waiting to be dispatched, by service', 'gauge', () => {
    const depth = new Map<string, number>(src.services().map((s) => [s.name, 0]));
    for (const j of src.jobs()) if (j.state === 'queued') depth.set(j.service, (depth.get(j.service) ?? 0) + j.count);
    return [...depth].map(([service, n]) => v(n, { service }));
  });
  scraped(registry, 'moat_service_state', 'Supervised service state (1 for the current state, 0 for the others)', 'gauge', () =>
    src.services().flatMap((s) => src.serviceStates.map((state) => v(s.state === state ? 1 : 0, { service: s.name, state }))),
  );
  scraped(registry, 'moat_service_restarts_total', 'Restarts of a supervised service since the gateway started', 'counter', () =>
    src.services().map((s) => v(s.restarts, { service: s.name })),
  );

  // The record and the watch.
  scraped(registry, 'moat_audit_backlog', 'Audit entries recorded but not yet written', 'gauge', () => [v(src.audit().backlog)]);
  scraped(registry, 'moat_audit_dropped_total', 'Audit entries dropped because the queue was full', 'counter', () => [v(src.audit().dropped)]);
  scraped(registry, 'moat_doctor_verdict', 'Verdict of the last heartbeat: 0 ok, 1 warn, 2 fail', 'gauge', () => {
    const verdict = src.doctorVerdict();
    return verdict === null ? [] : [v(verdict)];
  });

  collectDefaultMetrics({ register: registry });
  return registry;
}
