/**
 * What a signature scheme is: a pure check of a delivery's exact raw bytes and headers against a
 * secret at a given time, and where the scheme keeps its delivery id or one-time value. No I/O.
 */

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Why a delivery failed its check (audited; the sender only learns signature_invalid).
 * `legacy_v1`: a `moat` v1 signature that verified, refused unless inbound.acceptMoatV1.
 */
export type VerifyFailure = 'no_secret' | 'missing_header' | 'malformed' | 'mismatch' | 'stale' | 'replayed' | 'legacy_v1';
export type VerifyResult = 'ok' | VerifyFailure;

export interface Scheme {
  /** Checks `raw` (the bytes received, before any parsing) and the headers; constant time where secrets meet. */
  verify(secret: Buffer, raw: Buffer, headers: Headers, nowSeconds: number): VerifyResult;
  /** The sender's delivery id, when the scheme has one in a header. */
  deliveryId?(headers: Headers): string | undefined;
  /** A delivery id inside the verified, parsed body (Stripe's event id), else in the headers. */
  deliveryIdFromBody?(body: unknown, headers?: Headers): string | undefined;
  /** A one-time value that must never be accepted twice (Nextcloud Talk's random). */
  nonce?(headers: Headers): string | undefined;
}

/** One header's value: undefined when absent, null when sent several times (never guessed between). */
export function header(headers: Headers, name: string): string | undefined | null {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length === 1 ? (v[0] as string) : null;
  return v;
}

/** Timestamps in a 5-minute window either side of now (replay of a captured delivery). */
export const WINDOW_SECONDS = 300;
