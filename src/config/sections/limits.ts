/** Config knobs of who may come in and how often: proxies, lockout, rate limits, size and time limits. */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

const perMinute = (def: number, env: string, flag: string, what: string) =>
  section(`Rate limit of ${what}.`, {
    perMinute: knob(Type.Integer({ default: def, minimum: 1, maximum: 1_000_000_000 }), {
      description: `Requests per minute per client for ${what} (sliding window).`,
      env,
      flag,
      live: true,
      weakens: 'A higher limit gives guessing, flooding and brute force more tries per minute.',
    }),
  });

export const limitKnobs = {
  trustedProxies: knob(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [] }), {
    description:
      'CIDRs (or addresses) of reverse proxies whose X-Forwarded-For is believed. Default: none, the header is ignored.',
    env: 'MOAT_TRUSTED_PROXIES',
    flag: 'trusted-proxy',
    weakens: 'A listed proxy can name any client address: rate limits, lockout and the audit trail take its word.',
  }),
  lockout: section('Lockout after repeated authentication or pairing failures from one client.', {
    after: knob(Type.Integer({ default: 5, minimum: 1, maximum: 1000 }), {
      description: 'Failures from one client before it is locked out.',
      env: 'MOAT_LOCKOUT_AFTER',
      flag: 'lockout-after',
      weakens: 'More failures allowed before the lockout means more guesses.',
    }),
    baseMs: knob(Type.Integer({ default: 1000, minimum: 1, maximum: 3_600_000 }), {
      description: 'First lockout in milliseconds; it doubles with each further failure.',
      env: 'MOAT_LOCKOUT_BASE_MS',
      flag: 'lockout-base-ms',
    }),
    maxMs: knob(Type.Integer({ default: 60_000, minimum: 1, maximum: 86_400_000 }), {
      description: 'Longest lockout in milliseconds.',
      env: 'MOAT_LOCKOUT_MAX_MS',
      flag: 'lockout-max-ms',
    }),
  }),
  rateLimit: section('Rate limits per client and route class.', {
    enabled: knob(Type.Boolean({ default: true }), {
      description: 'Apply the rate limits below.',
      env: 'MOAT_RATE_LIMIT',
      flag: 'rate-limit',
      live: true,
      weakens: 'Off removes the throttle on floods, token guessing and pairing-code guessing (lockout still applies).',
    }),
    pair: perMinute(10, 'MOAT_RATE_LIMIT_PAIR', 'rate-limit-pair', 'pairing (POST /api/v1/pair)'),
    hooks: perMinute(60, 'MOAT_RATE_LIMIT_HOOKS', 'rate-limit-hooks', 'inbound hooks and triggers'),
    jobs: perMinute(120, 'MOAT_RATE_LIMIT_JOBS', 'rate-limit-jobs', 'job submission'),
    // Services post progress from the same (often loopback) address as the operator's own clients:
    // their own class keeps a chatty worker from using up the budget of every other route.
    progress: perMinute(6000, 'MOAT_RATE_LIMIT_PROGRESS', 'rate-limit-progress', 'progress reports posted by services (POST /api/v1/jobs/{id}/progress)'),
    general: perMinute(600, 'MOAT_RATE_LIMIT_GENERAL', 'rate-limit-general', 'every other route'),
    maxClients: knob(Type.Integer({ default: 100_000, minimum: 100, maximum: 10_000_000 }), {
      description: 'Client addresses tracked per limiter (least recently seen are forgotten first), bounding memory.',
      env: 'MOAT_RATE_LIMIT_MAX_CLIENTS',
    }),
  }),
  limits: section('Size, concurrency and time limits of the listener.', {
    maxBodyBytes: knob(Type.Integer({ default: 262_144, minimum: 1024, maximum: 1_073_741_824 }), {
      description: 'Largest JSON request body in bytes (256 KiB). Routes that take uploads declare their own cap.',
      env: 'MOAT_MAX_BODY_BYTES',
      flag: 'max-body-bytes',
      weakens: 'Larger bodies cost memory and parse time per request.',
    }),
    maxInflight: knob(Type.Integer({ default: 64, minimum: 1, maximum: 100_000 }), {
      description: 'Requests handled at once; more get 503 overloaded with Retry-After.',
      env: 'MOAT_MAX_INFLIGHT',
      flag: 'max-inflight',
      weakens: 'A higher cap lets a burst hold more memory and sockets.',
    }),
    maxStreams: knob(Type.Integer({ default: 32, minimum: 1, maximum: 100_000 }), {
      description: 'Open event streams (SSE and WebSocket) at once; more get 503.',
      env: 'MOAT_MAX_STREAMS',
      flag: 'max-streams',
    }),
    headersTimeoutMs: knob(Type.Integer({ default: 10_000, minimum: 100, maximum: 600_000 }), {
      description: 'Time a client has to send the complete request headers (slowloris), in milliseconds.',
      env: 'MOAT_HEADERS_TIMEOUT_MS',
      weakens: 'Longer lets slow clients hold connections open.',
    }),
    requestTimeoutMs: knob(Type.Integer({ default: 60_000, minimum: 100, maximum: 3_600_000 }), {
      description: 'Time a client has to send the whole request, in milliseconds.',
      env: 'MOAT_REQUEST_TIMEOUT_MS',
    }),
    keepAliveTimeoutMs: knob(Type.Integer({ default: 5_000, minimum: 100, maximum: 600_000 }), {
      description: 'Idle time before a keep-alive connection (or HTTP/2 session) is closed, in milliseconds.',
      env: 'MOAT_KEEP_ALIVE_TIMEOUT_MS',
    }),
    maxHeaderBytes: knob(Type.Integer({ default: 16_384, minimum: 1024, maximum: 1_048_576 }), {
      description: 'Largest request header block in bytes.',
      env: 'MOAT_MAX_HEADER_BYTES',
    }),
  }),
  pairing: section('Pairing codes (a device gets a token by typing a 6-digit code).', {
    defaultTtlSeconds: knob(Type.Integer({ default: 300, minimum: 10, maximum: 86_400 }), {
      description: 'Lifetime of a pairing code when none is asked for (5 minutes).',
      env: 'MOAT_PAIRING_TTL',
    }),
    maxTtlSeconds: knob(Type.Integer({ default: 3600, minimum: 10, maximum: 86_400 }), {
      description: 'Longest lifetime a pairing code may be given.',
      env: 'MOAT_PAIRING_MAX_TTL',
      weakens: 'A longer-lived code gives guessing more time.',
    }),
  }),
};
