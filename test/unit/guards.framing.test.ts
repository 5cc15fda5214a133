/**
 * The framing guard alone, on the raw message it reads (Transfer-Encoding, HTTP version): request
 * smuggling through codings a front proxy and Node could frame differently. End to end, over real
 * sockets: test/integration/framing.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { framingGuard, type FramingRequest } from '../../src/security/framing-guard.js';
import { outcome } from '../helpers/refusal.js';

const guard = framingGuard();
const te = (value: string | undefined, major = 1, minor = 1): FramingRequest => ({
  headers: value === undefined ? {} : { 'transfer-encoding': value },
  httpVersionMajor: major,
  httpVersionMinor: minor,
});

describe('framing guard', () => {
  it.each([[undefined], ['chunked'], ['Chunked'], ['CHUNKED'], [' chunked '], ['chunked\t']])('lets Transfer-Encoding %j through', (value) =>
    expect(outcome(() => guard(te(value)))).toBe('ok'),
  );
  it('lets a request without Transfer-Encoding through whatever its version', () => {
    expect(outcome(() => guard(te(undefined, 2, 0)))).toBe('ok');
    expect(outcome(() => guard(te(undefined, 1, 0)))).toBe('ok');
  });
  it.each([
    ['chunked, chunked', 'chunked twice'],
    ['chunked, gzip', 'chunked not last'],
    ['gzip', 'no chunked'],
    ['identity', 'identity alone'],
    [', chunked', 'an empty element first'],
    ['chunked,', 'an empty element last'],
    ['chunked,,chunked', 'an empty element between'],
    ['chunked;q=1', 'parameters'],
    ['chunked\u000b', 'a vertical tab'],
    ['chu nked', 'a space inside'],
    ['"chunked"', 'quotes'],
  ])('refuses %j (%s) with transfer_encoding_invalid', (value) => expect(outcome(() => guard(te(value)))).toBe('transfer_encoding_invalid'));
  it.each([['gzip, chunked'], ['identity, chunked'], ['x-custom, chunked']])('refuses %j with 501 transfer_coding_unsupported', (value) =>
    expect(outcome(() => guard(te(value)))).toBe('transfer_coding_unsupported'),
  );
  it('refuses Transfer-Encoding in HTTP/2 and in HTTP/1.0', () => {
    expect(outcome(() => guard(te('chunked', 2, 0)))).toBe('transfer_encoding_invalid');
    expect(outcome(() => guard(te('chunked', 1, 0)))).toBe('transfer_encoding_invalid');
  });
  it('closes the connection after a refusal (the body cannot be framed)', () => {
    try {
      guard(te('chunked, chunked'));
      expect.unreachable();
    } catch (err) {
      expect((err as { headers?: Record<string, string> }).headers).toEqual({ connection: 'close' });
    }
  });
});
