/**
 * Config knobs of the egress guard (src/egress): operator exceptions, host lists and caps per
 * purpose of an outbound request. Schema only; src/egress checks CIDRs and globs at construction.
 */
import { Type, type Static } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const size = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`);

interface PurposeDefaults {
  maxBytes: number;
  timeoutMs: number;
}

function purpose(name: string, what: string, defaults: PurposeDefaults) {
  const env = `MOAT_EGRESS_${name.toUpperCase()}`;
  return section(`Outbound requests for ${what}.`, {
    allowHosts: knob(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { default: [] }), {
      description:
        'Host names this purpose may reach: exact names (`api.example.com`), `*.example.com` for any name under it, or IP literals. Empty: any name. The address checks apply either way.',
      env: `${env}_ALLOW_HOSTS`,
      live: true,
      weakens: 'Empty, or a broad pattern, lets this purpose reach any name whose addresses pass the checks.',
    }),
    denyHosts: knob(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { default: [] }), {
      description: 'Host names this purpose may never reach, same patterns as allowHosts; wins over allowHosts.',
      env: `${env}_DENY_HOSTS`,
      live: true,
      weakens: 'Removing an entry lets client-influenced URLs of this purpose reach that host again.',
    }),
    allowCidrs: knob(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [] }), {
      description:
        'Operator exceptions: CIDRs (or addresses) this purpose may reach although they are loopback, private, link-local or otherwise denied (e.g. a LAN service for callbacks). Cloud metadata and unspecified addresses stay denied. Default: none.',
      env: `${env}_ALLOW_CIDRS`,
      live: true,
      weakens: 'Every listed range becomes reachable by client-influenced URLs of this purpose (SSRF into that range).',
    }),
    ports: knob(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: [], maxItems: 1000 }), {
      description: 'Ports this purpose may connect to. Empty (default): any port.',
      live: true,
      weakens: 'An empty list lets client-influenced URLs reach any port of an allowed host.',
    }),
    maxBytes: knob(Type.Integer({ default: defaults.maxBytes, minimum: 1024, maximum: 1_073_741_824 }), {
      description: `Largest response body in bytes (default ${size(defaults.maxBytes)}); a longer body is cut off with egress_too_large.`,
      live: true,
      weakens: 'A larger cap lets an upstream make the gateway hold more memory per request.',
    }),
    timeoutMs: knob(Type.Integer({ default: defaults.timeoutMs, minimum: 100, maximum: 600_000 }), {
      description: 'Total time of one request in milliseconds: name resolution, connect, every redirect hop and the whole body; then egress_timeout.',
      live: true,
      weakens: 'A longer limit lets a slow or endless upstream hold a request (and its memory) longer.',
    }),
    maxRedirects: knob(Type.Integer({ default: 5, minimum: 0, maximum: 5 }), {
      description: 'Redirects followed (each hop is checked again); one more is refused with egress_denied. At most 5.',
      live: true,
      weakens: 'More hops give an upstream more tries at steering the request elsewhere (each hop is still checked).',
    }),
  });
}

export const egressKnobs = {
  egress: section(
    'The egress guard: every outbound request to a client-influenced URL (callbacks, notifications, the fetch tool, forwarding). Loopback, private, link-local, metadata and other special addresses are denied unless an operator exception opens them.',
    {
      allowFakeIp: knob(Type.Boolean({ default: false }), {
        description:
          'Allow 198.18.0.0/15 (benchmarking range), which fake-IP proxies (Clash, sing-box, Surge) answer for every name. Off: denied like other special ranges.',
        env: 'MOAT_EGRESS_ALLOW_FAKE_IP',
        live: true,
        weakens: 'On, addresses in 198.18.0.0/15 pass: on a host without such a proxy, whatever answers there becomes reachable.',
      }),
      purposes: section('Policy per purpose of an outbound request.', {
        callback: purpose('callback', 'job callbacks', { maxBytes: 1 * MiB, timeoutMs: 10_000 }),
        notify: purpose('notify', 'notifications', { maxBytes: 256 * KiB, timeoutMs: 10_000 }),
        fetch: purpose('fetch', 'the URL-fetch tool', { maxBytes: 10 * MiB, timeoutMs: 30_000 }),
        forward: purpose('forward', 'forwarding of inbound events', { maxBytes: 1 * MiB, timeoutMs: 15_000 }),
      }),
    },
  ),
};

export type EgressConfig = Static<(typeof egressKnobs)['egress']>;
export type EgressPurposeConfig = EgressConfig['purposes']['callback'];
