/** What a child inherits: moat's environment without MOAT_* (the admin token must not leak), PORT, the service's env, the markers. */
import { describe, expect, it } from 'vitest';
import { INSTANCE_ENV, SERVICE_ENV, childEnv } from '../../src/domain/supervisor/process-runner.js';

describe('child environment', () => {
  const spec = { name: 'llm', argv: ['x'], cwd: null, env: { HF_HOME: '/models', MOAT_TOKEN: 'sneaky' }, port: '8188' };
  const env = childEnv(spec, 'f'.repeat(24), { PATH: '/usr/bin', MOAT_TOKEN: 'admin-secret', MOAT_DATA_DIR: '/var/moat', HOME: '/root' });

  it('drops every MOAT_* variable of moat itself, and refuses one from the service env', () => {
    expect(
      Object.keys(env)
        .filter((k) => k.startsWith('MOAT_'))
        .sort(),
    ).toEqual([INSTANCE_ENV, SERVICE_ENV].sort());
    expect(Object.values(env)).not.toContain('admin-secret');
    expect(Object.values(env)).not.toContain('sneaky');
  });

  it('passes the rest, the service env and PORT, and marks the child as ours', () => {
    expect(env).toMatchObject({ PATH: '/usr/bin', HOME: '/root', HF_HOME: '/models', PORT: '8188', [SERVICE_ENV]: 'llm', [INSTANCE_ENV]: 'f'.repeat(24) });
  });

  it('lets the service env override PORT', () => {
    expect(childEnv({ ...spec, env: { PORT: '9000' } }, 'a'.repeat(24), {})['PORT']).toBe('9000');
  });
});
