/** The config validator compiled at build time answers exactly as the one compiled at run time. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { CONFIG_AJV_OPTIONS } from '../../src/config/validate-options.js';

const GENERATED = fileURLToPath(new URL('../../dist/config/config-validator.generated.js', import.meta.url));

const CASES: unknown[] = [
  {},
  { port: 0, host: '::1' },
  { port: 'x' },
  { port: 70000 },
  { prot: 1 },
  { tls: { enabld: true } },
  { rateLimit: { pair: { perMinute: 0 } } },
  { publicNames: ['a.example', 'b.example:8443'] },
  { publicNames: 'a.example' },
  { logLevel: 'verbose' },
  { auth: { token: 'short' } },
  { auth: { token: 'x'.repeat(40) } },
  { services: [{ name: 'w', kind: 'url', baseUrl: 'http://127.0.0.1:1' }] },
  { services: [{ name: 'w', kind: 'nope', baseUrl: 'http://127.0.0.1:1' }] },
  { egress: { purposes: { fetch: { allowCidrs: ['127.0.0.1/32'] } } } },
  { notifications: { ntfy: { url: 'https://ntfy.sh', topic: 'x' } } },
];

describe('the build-time config validator', () => {
  it('exists after npm run build', () => {
    expect(existsSync(GENERATED)).toBe(true);
  });

  it.each(CASES.map((c) => [JSON.stringify(c), c]))('agrees with the run-time one on %s', async (_name, input) => {
    const generated = (await import(GENERATED)) as { default: ValidateFunction };
    const runtime = new Ajv({ ...CONFIG_AJV_OPTIONS, keywords: [...CONFIG_AJV_OPTIONS.keywords] }).compile(ConfigSchema);
    const a = structuredClone(input);
    const b = structuredClone(input);
    expect(generated.default(a)).toBe(runtime(b));
    expect(a).toEqual(b); // the same defaults filled in
    expect(generated.default.errors ?? null).toEqual(runtime.errors ?? null);
  });
});
