/** Config knobs of the door: bind, TLS, auth, names and origins, drain, logging. Schema only. */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

export const doorKnobs = {
  host: knob(Type.String({ default: '127.0.0.1', minLength: 1 }), {
    description: 'Address to bind: an IP literal or `localhost`. The boot matrix decides auth and TLS from its class.',
    env: 'MOAT_HOST',
    flag: 'host',
    weakens: 'A non-loopback bind faces the network: auth and TLS are forced on; 0.0.0.0/:: also needs `expose`.',
  }),
  port: knob(Type.Integer({ default: 7878, minimum: 0, maximum: 65535 }), {
    description: 'TCP port to listen on; 0 picks an ephemeral port.',
    env: 'MOAT_PORT',
    flag: 'port',
  }),
  dataDir: knob(Type.String({ default: '~/.moat', minLength: 1 }), {
    description: 'State directory (tokens, TLS, database, audit). Created with mode 0700.',
    env: 'MOAT_DATA_DIR',
    flag: 'data-dir',
  }),
  expose: knob(Type.Boolean({ default: false }), {
    description: 'Allow binding all interfaces (0.0.0.0 or ::). Required for such a bind; auth and TLS stay forced on.',
    env: 'MOAT_EXPOSE',
    flag: 'expose',
    weakens: 'Turning it on lets the gateway answer on every interface of the host, including public ones.',
  }),
  publicNames: knob(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { default: [] }), {
    description: 'Extra names accepted in the Host header (and put in the self-signed certificate). `name` matches any port, `name:port` only that port.',
    env: 'MOAT_PUBLIC_NAMES',
    flag: 'public-name',
    live: true,
    weakens: 'Every listed name is trusted as this gateway: a name an attacker controls re-opens DNS rebinding.',
  }),
  allowedOrigins: knob(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { default: [] }), {
    description:
      'Browser origins allowed to call the API (CORS). Exact serialized origins; `*` may stand for the port (`http://localhost:*`) or one leftmost label (`https://*.example.com`). Default: none.',
    env: 'MOAT_ALLOWED_ORIGINS',
    flag: 'allowed-origin',
    live: true,
    weakens: 'Each origin may drive the API from a browser with a token it holds; a broad pattern lets other sites do so.',
  }),
  drainTimeoutSeconds: knob(Type.Number({ default: 10, minimum: 0, maximum: 3600 }), {
    description:
      'On SIGTERM/SIGINT, seconds the drain lasts at most: the port stays open and answers 503 draining, in-flight requests and running jobs get this long to finish; then connections close and jobs still running are run again after the restart.',
    env: 'MOAT_DRAIN_TIMEOUT',
    flag: 'drain-timeout',
    weakens: 'Shorter cuts more running jobs (they run again from the start after the restart).',
  }),
  logLevel: knob(
    Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ],
      {
        default: 'info',
      },
    ),
    { description: 'Log level of the log (stderr).', env: 'MOAT_LOG_LEVEL', flag: 'log-level' },
  ),
  logFormat: knob(Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], { default: 'auto' }), {
    description:
      'Log lines on stderr: `json` (one object per line, for collectors), `pretty` (time, level, message and fields, for people), or `auto`: pretty on a terminal, JSON otherwise. Secrets are redacted in both.',
    env: 'MOAT_LOG_FORMAT',
    flag: 'log-format',
  }),
  tls: section('TLS of the listener.', {
    enabled: Type.Optional(
      knob(Type.Boolean(), {
        description: 'Serve HTTPS (HTTP/2 with HTTP/1.1 fallback, TLS 1.3 minimum). Unset: off on loopback (on when `tls.cert` is given), forced on elsewhere.',
        env: 'MOAT_TLS',
        flag: 'tls',
        weakens: 'Off means tokens cross the wire in clear text; refused on any non-loopback bind.',
      }),
    ),
    cert: Type.Optional(
      knob(Type.String({ minLength: 1 }), {
        description: "Path to the operator's own PEM certificate (chain). Default: a per-install self-signed ECDSA P-256 certificate.",
        env: 'MOAT_TLS_CERT',
        flag: 'tls-cert',
      }),
    ),
    key: Type.Optional(
      knob(Type.String({ minLength: 1 }), {
        description: "Path to the operator's PEM private key for `tls.cert`.",
        env: 'MOAT_TLS_KEY',
        flag: 'tls-key',
      }),
    ),
  }),
  auth: section('Authentication.', {
    enabled: knob(Type.Boolean({ default: true }), {
      description: 'Require a bearer token on every route but GET /api/v1/health. Can be turned off on loopback only.',
      env: 'MOAT_AUTH',
      flag: 'auth',
      weakens: 'Off lets any local process and any web page that reaches the port act as admin; refused off loopback.',
    }),
    token: Type.Optional(
      knob(Type.String({ minLength: 32, maxLength: 512 }), {
        description:
          "Use this admin token instead of the generated one in <dataDir>/gateway-token; never written to disk. At least 32 characters. Refused (exit 78) when it is a scoped token's secret. Not MOAT_TOKEN: that is the CLI's bearer token.",
        env: 'MOAT_ADMIN_TOKEN',
        flag: 'admin-token',
        secret: true,
        weakens:
          'A token chosen by hand may be weak (moat doctor judges it), and it lives wherever it is set (shell history, unit files) rather than in a 0600 file.',
      }),
    ),
  }),
};
