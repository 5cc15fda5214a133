/**
 * Access (admin): tokens (create with scopes and a lifetime, the secret shown once with a copy
 * button, revoke), console sessions (revoke), and pairing codes for another device.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { GRANTABLE } from '../scopes.js';
import type { CreatedToken, Session, Token } from '../types.js';
import { Loading, Notice, useAction, useLoad, When } from '../ui/common.js';
import { ttlOptions } from '../ui/format.js';
import { CopyButton } from '../ui/widgets.js';
import { Pairing } from './pairing.js';
import { ScopePicker, TtlSelect } from './scope-picker.js';

export function Access() {
  return html`<h1>Access</h1><${Tokens} /><${Sessions} /><${Pairing} />`;
}

function Tokens() {
  const list = useLoad(() => api<{ tokens: Token[] }>('/api/v1/tokens'));
  const action = useAction();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['read']);
  const [ttl, setTtl] = useState<number | null>(30 * 86400);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const body: Record<string, unknown> = { name: name.trim(), scopes };
      if (ttl !== null) body['ttlSeconds'] = ttl;
      setCreated(await api<CreatedToken>('/api/v1/tokens', { method: 'POST', body }));
      setName('');
      list.reload();
    });
  };
  const revoke = (t: Token) =>
    action.run(async () => {
      await api(`/api/v1/tokens/${seg(t.id)}`, { method: 'DELETE' });
      if (created?.id === t.id) setCreated(null);
      list.reload();
    });
  const live = (list.data?.tokens ?? []).filter((t) => t.revokedAt === null);
  return html`<section aria-labelledby="tokens-h">
    <h2 id="tokens-h">Tokens</h2>
    <${Notice} problem=${list.error} />
    <${Notice} problem=${action.problem} label="Refused" />
    ${
      created
        ? html`<div class="secret" role="region" aria-label="New token">
          <p>Token <strong>${created.name}</strong> created. Copy it now: it is shown only this once.</p>
          <p><code class="wrap" data-secret="token">${created.token}</code> <${CopyButton} text=${created.token} label=${'Copy the token ' + created.name} /></p>
          <button type="button" class="link" onClick=${() => setCreated(null)}>Done, hide it</button>
        </div>`
        : null
    }
    <form class="create" onSubmit=${create} aria-label="Create a token">
      <label for="token-name">Name</label>
      <input id="token-name" name="name" required maxlength="64" value=${name} onInput=${(e: Event) => setName((e.currentTarget as HTMLInputElement).value)} />
      <${ScopePicker} legend="Scopes" scopes=${['admin', ...GRANTABLE]} value=${scopes} onChange=${setScopes} />
      <${TtlSelect} id="token-ttl" label="Expires after" options=${ttlOptions().filter((o) => o.seconds === null || o.seconds >= 3600)} value=${ttl} onChange=${setTtl} />
      <button type="submit" disabled=${action.busy || scopes.length === 0}>Create token</button>
    </form>
    ${!list.data && !list.error ? html`<${Loading} what="tokens" />` : null}
    ${
      live.length
        ? html`<div class="table-wrap"><table>
          <caption class="sr-only">Tokens</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
          <tbody>${live.map(
            (t) => html`<tr key=${t.id} data-token=${t.name}>
              <th scope="row">${t.name} <span class="muted small">${t.kind}</span></th>
              <td>${t.scopes.join(', ')}</td>
              <td><${When} at=${t.createdAt} /></td>
              <td><${When} at=${t.lastUsedAt} /></td>
              <td>${t.expiresAt ? html`<${When} at=${t.expiresAt} />` : 'never'}</td>
              <td>${t.kind === 'admin' ? null : html`<button type="button" class="bad" disabled=${action.busy} onClick=${() => revoke(t)} aria-label=${'Revoke token ' + t.name}>Revoke</button>`}</td>
            </tr>`,
          )}</tbody>
        </table></div>`
        : null
    }
  </section>`;
}

function Sessions() {
  const list = useLoad(() => api<{ sessions: Session[] }>('/api/v1/sessions'));
  const action = useAction();
  const revoke = (s: Session) =>
    action.run(async () => {
      await api(`/api/v1/sessions/${seg(s.id)}`, { method: 'DELETE' });
      list.reload();
    });
  const sessions = list.data?.sessions ?? [];
  return html`<section aria-labelledby="sessions-h">
    <h2 id="sessions-h">Console sessions</h2>
    <${Notice} problem=${list.error} />
    <${Notice} problem=${action.problem} label="Refused" />
    ${list.data && sessions.length === 0 ? html`<p class="muted">No open sessions.</p>` : null}
    ${
      sessions.length
        ? html`<div class="table-wrap"><table>
          <caption class="sr-only">Open console sessions</caption>
          <thead><tr><th scope="col">Session</th><th scope="col">Scopes</th><th scope="col">From</th><th scope="col">Signed in</th><th scope="col">Last used</th><th scope="col">Actions</th></tr></thead>
          <tbody>${sessions.map(
            (s) => html`<tr key=${s.id} data-session=${s.id}>
              <th scope="row">${s.name ?? s.id}${s.current ? html` <span class="badge info">this page</span>` : null}</th>
              <td>${s.scopes.join(', ')}</td>
              <td>${s.client ?? ''}</td>
              <td><${When} at=${s.createdAt} /></td>
              <td><${When} at=${s.lastUsedAt} /></td>
              <td><button type="button" class="bad" disabled=${action.busy} onClick=${() => revoke(s)} aria-label=${'Revoke session ' + (s.name ?? s.id)}>Revoke</button></td>
            </tr>`,
          )}</tbody>
        </table></div>`
        : null
    }
    <button type="button" class="link" onClick=${list.reload}>Refresh</button>
  </section>`;
}
