/**
 * A real client through the proxy: the official `openai` SDK streaming a chat completion from an
 * OpenAI-compatible service through /svc/<name>/v1/chat/completions, with a token scoped to that
 * service as its API key. Every token arrives in order; the first arrives while the service still
 * holds the rest; cancelling on the client closes the service's connection; a token for another
 * service gets 403 and the service never sees the request.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../helpers/openai-upstream.js';
import { waitFor } from '../helpers/services.js';

let g: TestGateway;
let llm: OpenAIUpstream;
const tokens: Record<string, string> = {};

async function mint(name: string, scopes: string[]): Promise<string> {
  const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name, scopes } });
  expect(res.status).toBe(201);
  return res.json.token as string;
}

/** An SDK client whose API key is a moat token, pointed at the service through the proxy. */
function client(token: string): OpenAI {
  return new OpenAI({ apiKey: token, baseURL: `${g.url}/svc/llm/v1`, maxRetries: 0 });
}

const ASK = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Who is there?' }], stream: true as const };

beforeAll(async () => {
  llm = await startOpenAIUpstream();
  g = await startGateway({ services: [{ name: 'llm', kind: 'url', baseUrl: llm.url, health: { path: '/health', intervalMs: 50 } }] });
  await waitFor(() => g.gw.parts.supervisor.state('llm') === 'healthy', 'llm healthy');
  tokens['llm'] = await mint('llm-user', ['svc:llm']);
  tokens['other'] = await mint('other-user', ['svc:other']);
});

afterAll(async () => {
  await g?.stop();
  await llm?.close();
});

describe('the openai SDK streaming through /svc/llm/', () => {
  it('receives every token in order, the first while the service still holds the rest', async () => {
    const stream = await client(tokens['llm'] as string).chat.completions.create(ASK);
    const completion = await llm.nextCompletion();
    expect(completion.body).toMatchObject({ model: 'test-model', stream: true });
    // The moat token was the SDK's API key: it opened the proxy and went no further.
    expect(completion.headers['authorization']).toBeUndefined();

    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(first.value?.choices[0]?.delta.content).toBe(llm.tokens[0]);
    // The rest has not been sent yet: the first token came through on its own.
    expect(completion.finished()).toBe(false);

    completion.release();
    const got = [first.value?.choices[0]?.delta.content];
    let finish: string | null | undefined = null;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      const choice = r.value.choices[0];
      if (choice?.delta.content !== undefined) got.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    expect(got).toEqual(llm.tokens);
    expect(finish).toBe('stop');
    expect(completion.finished()).toBe(true);
  });

  it('cancelling the stream on the client (AbortController) closes the connection to the service', async () => {
    const controller = new AbortController();
    const stream = await client(tokens['llm'] as string).chat.completions.create(ASK, { signal: controller.signal });
    const completion = await llm.nextCompletion();
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.choices[0]?.delta.content).toBe(llm.tokens[0]);

    controller.abort();
    // The SDK ends an aborted stream quietly: no more tokens, whatever the service had left.
    expect(await it.next()).toEqual({ done: true, value: undefined });
    // The service sees its connection close before it sent the rest (it is never released here).
    await completion.aborted;
    expect(completion.finished()).toBe(false);
    await waitFor(() => g.gw.parts.supervisor.status('llm').activeRequests === 0, 'the proxied request released');
  });

  it("refuses a token scoped to another service with 403 (moat's problem answer); the service never sees it", async () => {
    const before = llm.count();
    const err = await client(tokens['other'] as string)
      .chat.completions.create(ASK)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).status).toBe(403);
    // The SDK keeps only an `error` member of the body; the problem document is moat's own answer.
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).headers.get('content-type')).toContain('application/problem+json');
    expect(llm.count()).toBe(before);
  });
});
