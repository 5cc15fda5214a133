/**
 * The client's Server-Sent Events reader against a real HTTP server on port 0 that frames its
 * stream the ways WHATWG HTML 9.2.6 allows (LF, CRLF, CR, a BOM) and splits it where a naive
 * reader breaks: inside a multi-byte UTF-8 character, between CR and LF, inside a field name.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, MAX_EVENT_CHARS, MoatClient } from '../../src/client/index.js';

type Got = { id: string | null; event: string; data: unknown };

/** What the server sends next: a list of writes, each written only once the client asks for it. */
let script: Buffer[] = [];
let waiting: http.ServerResponse | null = null;
let server: http.Server;
let client: MoatClient;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    res.flushHeaders();
    waiting = res;
    next();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  client = new MoatClient({ gateway: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't'.repeat(40) });
});
afterAll(async () => {
  await client.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Writes the next scripted piece (or ends the response when none is left). */
function next(): void {
  const res = waiting;
  if (!res) return;
  const piece = script.shift();
  if (piece === undefined) {
    res.end();
    waiting = null;
  } else {
    res.write(piece);
  }
}

/**
 * Plays `pieces`, each written only after the client has handled an event (the first at once), so
 * every piece arrives in its own chunk: a split between pieces is a split between chunks.
 */
async function play(pieces: Array<string | Buffer>, stopAfter?: number): Promise<{ got: Got[]; last: string | null }> {
  script = pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  const got: Got[] = [];
  // Bounded: a reader that never yields what it should ends here, and the assertions say what was missing.
  const last = await client.events(
    '/api/v1/events',
    (e) => {
      got.push(e);
      if (stopAfter !== undefined && got.length >= stopAfter) return true;
      setImmediate(next);
      return false;
    },
    { signal: AbortSignal.timeout(10_000) },
  );
  return { got, last };
}

describe('a multi-byte character split across chunks', () => {
  const text = 'naïve 日本語 🙂 ok';
  const frame = Buffer.from(`id: 2\nevent: job.progress\ndata: {"message":"${text}"}\n\n`, 'utf8');
  // Split inside the 4-byte emoji, inside a 3-byte CJK character, and inside the 2-byte ï.
  const cuts = [
    ['the emoji (4 bytes)', frame.indexOf(Buffer.from('🙂')) + 2],
    ['a CJK character (3 bytes)', frame.indexOf(Buffer.from('本')) + 1],
    ['a Latin-1 letter (2 bytes)', frame.indexOf(Buffer.from('ï')) + 1],
  ] as const;
  it.each(cuts)('is decoded whole when the cut falls inside %s', async (_name, cut) => {
    const first = Buffer.concat([Buffer.from('id: 1\ndata: {"message":"first"}\n\n'), frame.subarray(0, cut)]);
    const { got, last } = await play([first, frame.subarray(cut)]);
    expect(got).toEqual([
      { id: '1', event: 'message', data: { message: 'first' } },
      { id: '2', event: 'job.progress', data: { message: text } },
    ]);
    expect(JSON.stringify(got)).not.toContain('\ufffd');
    expect(last).toBe('2');
  });
});

describe('line endings', () => {
  const events = (eol: string) =>
    `: connected${eol}${eol}id: 7${eol}event: job.done${eol}data: {"a":1}${eol}${eol}id: 8${eol}data: line one${eol}data: line two${eol}${eol}`;
  const expected: Got[] = [
    { id: '7', event: 'job.done', data: { a: 1 } },
    { id: '8', event: 'message', data: 'line one\nline two' },
  ];
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('yields every event of a %s-framed stream', async (_name, eol) => {
    const { got, last } = await play([events(eol)]);
    expect(got).toEqual(expected);
    expect(last).toBe('8');
  });

  // Each piece but the last ends with an event the client can already see (which paces the next).
  it.each([
    ['between the CR and the LF of a blank line', ['id: 1\r\ndata: "one"\r\n\r\nid: 2\r\ndata: "two"\r\n\r', '\nid: 3\r\ndata: "three"\r\n\r\n']],
    ['between the CR and the LF of a data line', ['id: 1\r\ndata: "one"\r\n\r\nid: 2\r\ndata: "two"\r', '\n\r\nid: 3\r\ndata: "three"\r\n\r\n']],
    ['inside a field name', ['id: 1\r\ndata: "one"\r\n\r\nid: 2\r\nev', 'ent: job.done\r\ndata: "two"\r\n\r\nid: 3\r\nda', 'ta: "three"\r\n\r\n']],
  ])('yields every event, once, of a CRLF stream cut %s', async (_name, pieces) => {
    const { got, last } = await play(pieces as string[]);
    expect(got.map((e) => [e.id, e.data])).toEqual([
      ['1', 'one'],
      ['2', 'two'],
      ['3', 'three'],
    ]);
    expect(last).toBe('3');
  });

  it('dispatches a CR-framed event whose blank line is the last byte of the stream', async () => {
    const { got } = await play(['data: "one"\r\rdata: "two"\r\r']);
    expect(got.map((e) => e.data)).toEqual(['one', 'two']);
  });

  it('drops an event the stream ends before its blank line, whatever the line ending', async () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const { got } = await play([`data: "one"${eol}${eol}data: "cut off"${eol}`]);
      expect(got.map((e) => e.data)).toEqual(['one']);
    }
  });

  it('ignores a leading byte order mark', async () => {
    const { got } = await play([Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('data: {"b":2}\r\n\r\n')])]);
    expect(got).toEqual([{ id: null, event: 'message', data: { b: 2 } }]);
  });

  it('stops when the callback says so, returning the last id seen', async () => {
    const { got, last } = await play([events('\r\n')], 1);
    expect(got).toHaveLength(1);
    expect(last).toBe('7');
  });
});

describe('a stream that never ends its event', () => {
  it('is refused with stream_too_large once the event passes the cap, instead of filling memory', async () => {
    const big = Buffer.alloc(1024 * 1024, 'a');
    const pieces: Buffer[] = [Buffer.from('data: "ok"\n\ndata: ')];
    for (let n = 0; n < MAX_EVENT_CHARS / big.length + 2; n++) pieces.push(big);
    // Every piece is pushed at once here (no event arrives to pace them).
    script = pieces;
    const err = await client
      .events('/api/v1/events', () => {
        while (script.length > 0) next();
        return false;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ code: 'stream_too_large' });
  });
});
