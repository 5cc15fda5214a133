/**
 * Signing in: the one-time code of a `moat console` link (read from the fragment, which is removed
 * from the address bar and history before anything else runs) or the digits of a pairing code typed
 * here. Either is traded once for an HttpOnly session cookie the page itself never sees.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, type Problem } from './api.js';
import { Notice, problemOf } from './ui/common.js';

/**
 * Takes `#signin=<code>` out of the URL at once (history.replaceState: the entry keeps no fragment,
 * so neither the address bar, a bookmark, the history nor a screen share shows it) and returns it.
 */
export function takeSigninCode(): string | null {
  const hash = location.hash;
  if (!hash.startsWith('#signin=')) return null;
  history.replaceState(null, '', location.pathname + location.search);
  let code: string;
  try {
    code = decodeURIComponent(hash.slice('#signin='.length));
  } catch {
    return '';
  }
  return code.trim().slice(0, 256);
}

export async function exchange(code: string): Promise<void> {
  await api('/api/v1/console/session', { method: 'POST', body: { code }, quiet401: true });
}

export function SignIn({ onSignedIn, message, problem }: { onSignedIn: () => void; message?: string | undefined; problem?: Problem | null | undefined }) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Problem | null>(problem ?? null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const digits = code.replace(/[\s-]/g, '');
    if (digits === '') return;
    setBusy(true);
    setError(null);
    try {
      await exchange(digits);
      setCode('');
      onSignedIn();
    } catch (err) {
      setError(problemOf(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<main id="main" class="signin" tabindex="-1">
    <h1>Sign in to Moat</h1>
    ${message ? html`<p class="notice" role="status">${message}</p>` : null}
    <${Notice} problem=${error} label="Not signed in" />
    <section aria-labelledby="from-machine">
      <h2 id="from-machine">On the machine running Moat</h2>
      <p>Run <code>moat console</code>. It prints a sign-in link and its QR code; open the link here or scan it with a phone. The link works once, for five minutes.</p>
    </section>
    <section aria-labelledby="with-code">
      <h2 id="with-code">With a pairing code</h2>
      <p>Ask for a code with <code>moat pair --console</code>, or from the Access page of a signed-in console, and type its digits.</p>
      <form onSubmit=${submit}>
        <label for="pairing-code">Pairing code</label>
        <input id="pairing-code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="32" required
          value=${code} onInput=${(e: Event) => setCode((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </section>
    <p class="muted small">The console never asks for a token. A session ends after 30 minutes idle or 12 hours at most (the defaults).</p>
  </main>`;
}
