/**
 * The http.fetch tool: one outbound request through the egress guard (purpose `fetch`, its
 * allowlist, SSRF checks at connect time). This file never opens a socket: without an injected
 * fetcher the tool is unavailable (503 tool_unavailable).
 */
import { Type } from '@sinclair/typebox';
import { encodeContent } from './fs-read.js';
import type { Fetcher, ToolDefinition } from './types.js';

const FetchArgs = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 8192, description: 'http(s) URL; the egress guard decides whether it may be reached.' }),
    method: Type.Optional(Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => Type.Literal(m)))),
    headers: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 8192 }))),
    body: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
interface FetchArgs {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export function fetchTool(fetcher: () => Fetcher | null): ToolDefinition<FetchArgs> {
  return {
    name: 'http.fetch',
    risk: 'medium',
    description: 'Fetch a URL through the egress guard: {url, method?, headers?, body?} -> {status, headers, content, encoding, url}.',
    args: FetchArgs,
    unavailable: () => (fetcher() === null ? 'http.fetch needs the egress guard, which is not wired into this gateway' : null),
    async run({ args, actor, requestId }) {
      const f = fetcher() as Fetcher;
      const res = await f.request({
        url: args.url,
        purpose: 'fetch',
        ...(args.method !== undefined ? { method: args.method } : {}),
        ...(args.headers !== undefined ? { headers: args.headers } : {}),
        ...(args.body !== undefined ? { body: args.body } : {}),
        actor,
        ...(requestId !== undefined ? { requestId } : {}),
      });
      return { status: res.status, headers: res.headers, url: res.url, size: res.body.length, ...encodeContent(res.body) };
    },
  };
}
