/**
 * Payload templates from the attacker's side: the verified body is attacker-influenced (a commit
 * message, a chat line), so its values must land literally, never be evaluated, never expand again,
 * never reach the prototype, never pull in a credential header.
 */
import { describe, expect, it } from 'vitest';
import { checkSize, fillString, fillTemplate, type TemplateContext } from '../../src/domain/hooks/template.js';

const ctx: TemplateContext = {
  body: {
    ref: 'refs/heads/main',
    repository: { full_name: 'moat/moat', private: false, stars: 7 },
    commits: [{ id: 'abc', message: 'fix {body.ref} and ${process.env.HOME} `id` {{7*7}}' }],
    nested: { deep: { deeper: null } },
    'with-dash': 'dash',
  },
  query: { branch: 'main', many: ['a', 'b'] },
  headers: {
    'x-github-event': 'push',
    authorization: 'Bearer moat_secret',
    cookie: 'session=1',
    'x-webhook-secret': 'sssh',
    'content-type': 'application/json',
  },
};

describe('fillString: literal substitution', () => {
  it.each([
    ['{body.ref}', 'refs/heads/main'],
    ['push to {body.repository.full_name} on {body.ref}', 'push to moat/moat on refs/heads/main'],
    ['{body.commits.0.id}', 'abc'],
    ['{body.repository.stars} stars, private={body.repository.private}', '7 stars, private=false'],
    ['{body.repository}', '{"full_name":"moat/moat","private":false,"stars":7}'],
    ['{body.nested.deep.deeper}', ''],
    ['{body.with-dash}', 'dash'],
    ['{query.branch}', 'main'],
    ['{query.many}', '["a","b"]'],
    ['{header.x-github-event}', 'push'],
    ['{header.X-GitHub-Event}', 'push'],
  ])('%s -> %s', (template, expected) => {
    expect(fillString(template, ctx)).toBe(expected);
  });

  it.each([
    ['a missing field', '{body.nope}', ''],
    ['a missing nested field', '{body.repository.owner.login}', ''],
    ['an index out of range', '{body.commits.9.id}', ''],
    ['a non-numeric index', '{body.commits.first.id}', ''],
    ['a leading-zero index', '{body.commits.00.id}', ''],
    ['the prototype', '{body.__proto__}', ''],
    ['constructor', '{body.constructor.name}', ''],
    ['toString', '{body.ref.toString}', ''],
    ['a string index', '{body.ref.0}', ''],
    ['Authorization', '{header.authorization}', ''],
    ['Cookie', '{header.cookie}', ''],
    ['X-Webhook-Secret', '{header.x-webhook-secret}', ''],
    ['a header path with dots', '{header.x-github-event.length}', ''],
  ])('%s fills as the empty string', (_label, template, expected) => {
    expect(fillString(template, ctx)).toBe(expected);
  });

  it.each([
    ['an unknown namespace', '{env.HOME}'],
    ['a bare name', '{ref}'],
    ['an expression', '{body.repository.stars + 1}'],
    ['a call', '{body.ref()}'],
    ['brackets', '{body.commits[0]}'],
  ])('%s is left as text, never evaluated', (_label, template) => {
    expect(fillString(template, ctx)).toBe(template);
  });

  it('leaves text that is not a placeholder as it is', () => {
    expect(fillString('{env.HOME} {ref} {body.repository.stars + 1} ${x} {{7*7}}', ctx)).toBe('{env.HOME} {ref} {body.repository.stars + 1} ${x} {{7*7}}');
  });

  it('never expands a filled-in value again (one pass)', () => {
    expect(fillString('{body.commits.0.message}', ctx)).toBe('fix {body.ref} and ${process.env.HOME} `id` {{7*7}}');
  });
});

describe('fillTemplate: JSON structure kept', () => {
  it('fills strings at any depth and keeps other values', () => {
    const template = { ref: '{body.ref}', meta: { event: '{header.x-github-event}', n: 3, ok: true, none: null }, list: ['{query.branch}', 1] };
    expect(fillTemplate(template, ctx)).toEqual({ ref: 'refs/heads/main', meta: { event: 'push', n: 3, ok: true, none: null }, list: ['main', 1] });
  });

  it('a string that is exactly one placeholder takes the JSON value (copied, not shared)', () => {
    const out = fillTemplate({ stars: '{body.repository.stars}', repo: '{body.repository}', commits: '{body.commits}', missing: '{body.nope}' }, ctx) as Record<
      string,
      unknown
    >;
    expect(out).toEqual({
      stars: 7,
      repo: { full_name: 'moat/moat', private: false, stars: 7 },
      commits: (ctx.body as { commits: unknown }).commits,
      missing: '',
    });
    expect(out['repo']).not.toBe((ctx.body as { repository: unknown }).repository);
  });

  it('template keys are never filled (only values)', () => {
    expect(fillTemplate({ '{body.ref}': '{body.ref}' }, ctx)).toEqual({ '{body.ref}': 'refs/heads/main' });
  });

  it('a __proto__ key in a template stays an own data property and pollutes nothing', () => {
    const template = JSON.parse('{"__proto__": {"polluted": "{body.ref}"}}') as unknown;
    const out = fillTemplate(template, ctx) as Record<string, unknown>;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":"refs/heads/main"}}');
  });

  it('a form body (an object without a prototype) fills like JSON', () => {
    const form = Object.assign(Object.create(null) as Record<string, string>, { command: '/deploy', text: 'prod' });
    expect(fillTemplate({ cmd: '{body.command} {body.text}' }, { ...ctx, body: form })).toEqual({ cmd: '/deploy prod' });
  });
});

describe('checkSize', () => {
  it('refuses a filled result over the cap with 413 action_payload_too_large', () => {
    expect(() => checkSize({ a: 'x'.repeat(2000) }, 1024, 'job payload')).toThrowError(
      expect.objectContaining({ code: 'action_payload_too_large', status: 413 }),
    );
    expect(() => checkSize({ a: 'x'.repeat(100) }, 1024, 'job payload')).not.toThrow();
  });
});
