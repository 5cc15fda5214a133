/**
 * Pairing a second device: an admin mints a console pairing code with scopes and a lifetime; it is
 * shown as digits, as a countdown, and as a QR code of its one-time sign-in link (never a token),
 * and is marked "redeemed" live when a device uses it (`pairing.redeemed` on the event stream).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useLive } from '../context.js';
import { GRANTABLE } from '../scopes.js';
import type { PairingCode } from '../types.js';
import { Notice, useAction } from '../ui/common.js';
import { ttlOptions } from '../ui/format.js';
import { Qr } from '../ui/qr.js';
import { Countdown } from '../ui/widgets.js';
import { ScopePicker, TtlSelect } from './scope-picker.js';

type Minted = PairingCode & { redeemed: boolean; expired: boolean };

export function Pairing() {
  const action = useAction();
  const [scopes, setScopes] = useState<string[]>(['read']);
  const [ttl, setTtl] = useState<number | null>(300);
  const [minted, setMinted] = useState<Minted | null>(null);
  useLive('pairing.', (e) => {
    if (e.type === 'pairing.redeemed' && minted && e.data['pairingId'] === minted.id) setMinted({ ...minted, redeemed: true });
  });
  const mint = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const code = await api<PairingCode>('/api/v1/pairing-codes', { method: 'POST', body: { scopes, ttlSeconds: ttl ?? 300, console: true } });
      setMinted({ ...code, redeemed: false, expired: false });
    });
  };
  return html`<section aria-labelledby="pair-h">
    <h2 id="pair-h">Sign in another device</h2>
    <p class="small">A pairing code signs one browser in once, with the scopes chosen here. Scan the QR code with a phone, or type the digits on its sign-in page (a code with admin has no digits: six digits are too few to guard admin).</p>
    <${Notice} problem=${action.problem} label="Refused" />
    <form class="create" onSubmit=${mint} aria-label="Mint a pairing code">
      <${ScopePicker} legend="Scopes of the session" scopes=${['admin', ...GRANTABLE]} value=${scopes} onChange=${setScopes} />
      <${TtlSelect} id="pair-ttl" label="Code valid for" options=${ttlOptions().filter((o) => o.seconds !== null && o.seconds <= 3600)} value=${ttl} onChange=${setTtl} />
      <button type="submit" disabled=${action.busy || scopes.length === 0}>Mint pairing code</button>
    </form>
    ${
      minted
        ? html`<div class="pairing" data-pairing=${minted.id}>
          ${
            minted.code !== null
              ? html`<p class="digits" aria-label=${'Pairing code ' + minted.code.split('').join(' ')}>${minted.code}</p>`
              : html`<p class="small">No digits for a code with these scopes: use the QR code or the link.</p>`
          }
          <p role="status" aria-live="polite" class="pair-state">
            ${
              minted.redeemed
                ? html`<strong class="good-text">Redeemed</strong>: a device signed in with this code.`
                : minted.expired
                  ? html`<strong class="bad-text">Expired</strong>: mint a new code.`
                  : html`<span>Waiting for a device · </span><${Countdown} until=${minted.expiresAt} onExpire=${() => setMinted((m) => m && { ...m, expired: true })} />`
            }
          </p>
          <p class="small muted">Scopes: ${minted.scopes.join(', ')}</p>
          ${
            minted.signinUrl && !minted.redeemed && !minted.expired
              ? html`<${Qr} text=${minted.signinUrl} label="QR code of the one-time sign-in link" />`
              : null
          }
        </div>`
        : null
    }
  </section>`;
}
