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
    description: 'CIDRs (or addresses) of reverse proxies whose X-Forwarded-For is believed. Default: none, the header is ignored.',
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
      live: true,
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
      description:
        'Requests handled at once, all clients together; more get 503 overloaded with Retry-After. GET /api/v1/health is outside every in-flight budget.',
      env: 'MOAT_MAX_INFLIGHT',
      flag: 'max-inflight',
      weakens: 'A higher cap lets a burst hold more memory and sockets.',
    }),
    adminReservedInflight: Type.Optional(
      knob(Type.Integer({ minimum: 0, maximum: 100_000 }), {
        description:
          'Of limits.maxInflight, the requests only admin tokens may use: the operator gets in while everyone else is at the cap. Must be below maxInflight. Default: an eighth of maxInflight (8 of 64; at least 1 when maxInflight is over 1).',
        env: 'MOAT_ADMIN_RESERVED_INFLIGHT',
        flag: 'admin-reserved-inflight',
        weakens: 'Lower (0: none) lets other tokens and unauthenticated senders fill the gateway until the operator cannot act.',
      }),
    ),
    maxInflightPerToken: Type.Optional(
      knob(Type.Integer({ minimum: 1, maximum: 100_000 }), {
        description:
          'Requests one token may have in flight (admin tokens excepted); more get 429 concurrency_limited. Default: a quarter of maxInflight (16 of 64).',
        env: 'MOAT_MAX_INFLIGHT_PER_TOKEN',
        flag: 'max-inflight-per-token',
        weakens:
          'Higher lets one token (a leaked one, a runaway agent) hold more of the shared budget: at maxInflight - adminReservedInflight it can hold all of it.',
      }),
    ),
    maxInflightPerClient: Type.Optional(
      knob(Type.Integer({ minimum: 1, maximum: 100_000 }), {
        description:
          'Requests one client address (an IPv6 /64) may have in flight, whatever token it sends (admin tokens excepted); more get 429 concurrency_limited. Default: half of maxInflight (32 of 64).',
        env: 'MOAT_MAX_INFLIGHT_PER_CLIENT',
        flag: 'max-inflight-per-client',
        weakens: 'Higher lets one address, with many tokens or none, hold more of the shared budget.',
      }),
    ),
    maxInflightUnauthenticated: Type.Optional(
      knob(Type.Integer({ minimum: 1, maximum: 100_000 }), {
        description:
          'Requests in flight to the routes without a bearer token (POST /hooks/<name>, POST /api/v1/pair, /actions/<token>), all clients together; more get 503 overloaded. Default: a quarter of maxInflight (16 of 64).',
        env: 'MOAT_MAX_INFLIGHT_UNAUTHENTICATED',
        flag: 'max-inflight-unauthenticated',
        weakens: 'Higher lets anyone who can reach the port, without any token, hold more of the shared budget with slow deliveries.',
      }),
    ),
    bodyIdleTimeoutMs: knob(Type.Integer({ default: 5_000, minimum: 100, maximum: 600_000 }), {
      description:
        'On the routes without a bearer token, a request body that sends nothing for this long is cut off with 408 request_timeout, in milliseconds.',
      env: 'MOAT_BODY_IDLE_TIMEOUT_MS',
      flag: 'body-idle-timeout-ms',
      weakens: 'Longer lets an unauthenticated sender hold a slot of maxInflightUnauthenticated with a stalled body for longer.',
    }),
    maxJsonDepth: knob(Type.Integer({ default: 64, minimum: 2, maximum: 1_000 }), {
      description:
        'Deepest nesting of arrays and objects in a JSON body (request bodies and verified hook deliveries); deeper gets 400 json_too_deep before it is parsed.',
      env: 'MOAT_MAX_JSON_DEPTH',
      flag: 'max-json-depth',
      weakens: 'Deeper bodies cost more stack in every recursive walk (canonical JSON, sealing, templates); thousands of levels overflow it.',
    }),
    maxStreams: knob(Type.Integer({ default: 32, minimum: 1, maximum: 100_000 }), {
      description: 'Open event streams (SSE and WebSocket, events and proxied) at once, all clients together; more get 503 too_many_streams.',
      env: 'MOAT_MAX_STREAMS',
      flag: 'max-streams',
      weakens: 'A higher cap lets long-lived connections hold more memory and sockets.',
    }),
    adminReservedStreams: Type.Optional(
      knob(Type.Integer({ minimum: 0, maximum: 100_000 }), {
        description:
          'Of limits.maxStreams, the streams only admin tokens may open. Must be below maxStreams. Default: an eighth of maxStreams (4 of 32; at least 1 when maxStreams is over 1).',
        env: 'MOAT_ADMIN_RESERVED_STREAMS',
        flag: 'admin-reserved-streams',
        weakens: "Lower (0: none) lets other tokens take every stream, the operator's event stream included.",
      }),
    ),
    maxStreamsPerToken: Type.Optional(
      knob(Type.Integer({ minimum: 1, maximum: 100_000 }), {
        description: 'Streams one token may have open (admin tokens excepted); more get 429 concurrency_limited. Default: a quarter of maxStreams (8 of 32).',
        env: 'MOAT_MAX_STREAMS_PER_TOKEN',
        flag: 'max-streams-per-token',
        weakens: 'Higher lets one token hold more of the shared streams.',
      }),
    ),
    maxStreamsPerClient: Type.Optional(
      knob(Type.Integer({ minimum: 1, maximum: 100_000 }), {
        description:
          'Streams one client address (an IPv6 /64) may have open (admin tokens excepted); more get 429 concurrency_limited. Default: half of maxStreams (16 of 32).',
        env: 'MOAT_MAX_STREAMS_PER_CLIENT',
        flag: 'max-streams-per-client',
        weakens: 'Higher lets one address hold more of the shared streams.',
      }),
    ),
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
      description:
        'Idle time before a keep-alive connection (or HTTP/2 session) is closed, in milliseconds. An idle HTTP/2 session with streams still open is pinged instead; one that does not answer, or is still closing, this long after is destroyed with its streams.',
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
