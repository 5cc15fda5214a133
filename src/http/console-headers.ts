/**
 * The console's security headers, on every console page and file (and their refusals).
 */
/**
 * The console's headers, on every console page and file (and their refusals). XSS: scripts, styles,
 * fonts and connections from this origin only, no inline script or style, no eval, and Trusted
 * Types so that no HTML string ever reaches a sink; clickjacking: no framing; no base-tag or form
 * hijack; cross-origin isolation of the window (COOP) and of the files (CORP).
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'";
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONSOLE_CSP,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});
export const CONSOLE_HEADER_NAMES = Object.keys(CONSOLE_HEADERS);
