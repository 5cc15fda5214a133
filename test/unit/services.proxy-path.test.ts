/**
 * The path a proxied request is forwarded with (domain/services/proxy-path.ts): rebuilt from its
 * segments, and every spelling two parsers may read differently refused. The same spellings sent
 * over a raw socket to a real gateway: test/integration/proxy.spellings.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { proxyPath } from '../../src/domain/services/proxy-path.js';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'forwarded';
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('proxyPath', () => {
  it.each([
    ['/svc/llm', '/'],
    ['/svc/llm/', '/'],
    ['/svc/llm?x=1', '/?x=1'],
    ['/svc/llm/?x=1', '/?x=1'],
    ['/svc/llm/v1/chat/completions', '/v1/chat/completions'],
    ['/svc/llm/a/', '/a/'],
    ['/svc/llm/x?path=../..&q=%2f', '/x?path=../..&q=%2f'],
    ['/svc/llm/.well-known/x', '/.well-known/x'],
    ['/svc/llm/a.b/..a/a../...', '/a.b/..a/a../...'],
    ['/svc/llm/a;jsessionid=1/b', '/a;jsessionid=1/b'],
    ['/svc/llm/caf%C3%A9/100%25off', '/caf%C3%A9/100%25off'],
    ['/svc/llm/a%20b', '/a%20b'],
  ])('forwards %s as %s', (target, path) => {
    expect(proxyPath(target, 'llm')).toBe(path);
  });

  it.each([
    // dot segments, plain, encoded, with parameters (the old hasDotSegment table, and more)
    '/svc/llm/..',
    '/svc/llm/../x',
    '/svc/llm/a/../../b',
    '/svc/llm/.',
    '/svc/llm/./x',
    '/svc/llm/a/%2e',
    '/svc/llm/%2e%2e/x',
    '/svc/llm/%2E./x',
    '/svc/llm/.%2E/x',
    '/svc/llm/..;/x',
    '/svc/llm/..;a=b/x',
    '/svc/llm/.;/x',
    '/svc/llm/%2e%2e;/x',
    // separators inside a segment
    '/svc/llm/..%2fx',
    '/svc/llm/..%5cx',
    '/svc/llm/a%2Fb',
    '/svc/llm/..\\x',
    '/svc/llm/a\\b',
    // empty segments
    '/svc/llm//x',
    '/svc/llm/a//b',
    '/svc/llm//',
    // double encoding
    '/svc/llm/%252e%252e/x',
    '/svc/llm/%252fx',
    '/svc/llm/%25%32%65',
    // control characters and malformed escapes
    '/svc/llm/a%00b',
    '/svc/llm/a%0d%0aSet-Cookie:x',
    '/svc/llm/a%7f',
    '/svc/llm/a%zz',
    '/svc/llm/a%2',
    '/svc/llm/a\tb',
    // not origin-form, fragments, an encoded or foreign prefix
    'http://127.0.0.1:1/svc/llm/x',
    '//127.0.0.1/svc/llm/x',
    '*',
    '/svc/llm/x#frag',
    '/svc/%6c%6c%6d/x',
    '/svc/LLM/x',
    '/svc/llmx/y',
    '/%73vc/llm/x',
  ])('refuses %j with path_not_allowed', (target) => {
    expect(code(() => proxyPath(target, 'llm'))).toBe('path_not_allowed');
  });
});
