/**
 * The console's cross-site request guard. Cross-site request forgery with the session cookie: the
 * browser attaches the cookie by itself, and SameSite=Strict does not separate ports (a page on
 * another port of 127.0.0.1 is "same-site" and its credentialed requests carry a Strict cookie). So
 * a request the cookie would authenticate is accepted only when the browser says it comes from this
 * very origin (Fetch Metadata: `Sec-Fetch-Site: same-origin`), and a write only when its `Origin`
 * is the gateway's own as well. A request with a bearer token never gets here: the token alone
 * authenticates it and the cookie is ignored. Reads config only.
 */
import { GatewayError } from '../errors.js';
import type { AddressedRequest } from './client-ip.js';
import { ownOrigin, type IsHttps } from './own-origin.js';
import { hasSessionCookie, sessionCookieName } from '../crypto/session-cookie.js';

/** What the CSRF guard reads: the raw message's headers and connection (Node's IncomingMessage, or Fastify's request.raw). */
export interface CsrfRequest extends AddressedRequest {
  readonly headers: AddressedRequest['headers'] & {
    readonly cookie?: string | undefined;
    readonly origin?: string | undefined;
    readonly host?: string | undefined;
    readonly 'sec-fetch-site'?: string | string[] | undefined;
  };
}

export interface CsrfGuardOptions {
  /** False when the console is off: no request is a cookie request, the cookie is never honoured. */
  enabled: boolean;
  /** The request came over HTTPS: the scheme of the gateway's own origin, and the cookie's name. */
  https: IsHttps;
}

export function csrfGuard(opts: CsrfGuardOptions) {
  const { enabled, https } = opts;
  const plainName = sessionCookieName(false);
  const tlsName = sessionCookieName(true);

  /** Refuses a cookie request that did not come from the console's own pages (`write`: also checks Origin). */
  function csrfGuard(req: CsrfRequest, write: boolean): void {
    // Node joins a repeated header with ", ", so two values never equal `same-origin`.
    const site = req.headers['sec-fetch-site'];
    if (site !== 'same-origin') {
      throw new GatewayError(
        'csrf_refused',
        site === undefined
          ? 'the session cookie is accepted only from the console (Sec-Fetch-Site: same-origin); other clients send a bearer token'
          : 'the session cookie is accepted only from the console itself, not from another site or port',
      );
    }
    if (!write) return;
    const origin = req.headers.origin;
    const own = ownOrigin(req, https(req));
    if (origin === undefined || own === undefined || origin !== own) {
      throw new GatewayError('csrf_refused', "a write with the session cookie needs an Origin equal to this gateway's own");
    }
  }

  return Object.assign(csrfGuard, {
    /** Whether the request carries the session cookie (and the console is on). */
    hasCookie(req: CsrfRequest): boolean {
      return enabled && hasSessionCookie(req.headers.cookie, https(req) ? tlsName : plainName);
    },
    /**
     * The sign-in exchange (no cookie yet). Login CSRF: another page must not sign this browser into
     * a session of its choosing. A browser that says the request is not same-origin, or names
     * another Origin, is refused; a client that sends neither (curl, the CLI) is not a browser.
     */
    signin(req: CsrfRequest): void {
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin')
        throw new GatewayError('csrf_refused', 'sign in from the console itself, not from another site or port');
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== ownOrigin(req, https(req)))
        throw new GatewayError('csrf_refused', "a sign-in from a browser needs an Origin equal to this gateway's own");
    },
  });
}
