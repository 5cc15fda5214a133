/**
 * Hooks: the inbound hooks and their recent deliveries (verified, refused and why, duplicates),
 * read from the audit log's `hook.delivery` entries. Payload fields are shown as text only.
 */
import { html } from 'htm/preact';
import { api } from '../api.js';
import type { AuditEntry, Hook } from '../types.js';
import { Loading, Notice, useLoad, When } from '../ui/common.js';
import { useAuditTail } from './audit-feed.js';

const PER_HOOK = 20;

export function Hooks() {
  const hooks = useLoad(() => api<{ hooks: Hook[] }>('/api/v1/hooks'));
  const deliveries = useAuditTail(5000, (e) => e.type === 'hook.delivery');
  const byHook = new Map<string, AuditEntry[]>();
  for (const e of deliveries.entries) {
    const name = typeof e.detail?.['hook'] === 'string' ? e.detail['hook'] : '?';
    byHook.set(name, [...(byHook.get(name) ?? []), e]);
  }
  const list = hooks.data?.hooks ?? [];
  const unknown = [...byHook.keys()].filter((n) => !list.some((h) => h.name === n));
  return html`<h1>Hooks</h1>
    <${Notice} problem=${hooks.error} />
    <${Notice} problem=${deliveries.error} label="Deliveries" />
    ${!hooks.data && !hooks.error ? html`<${Loading} what="hooks" />` : null}
    ${hooks.data && list.length === 0 ? html`<p class="muted">No hooks are registered.</p>` : null}
    ${list.map(
      (h) => html`<section key=${h.name} class="hook" aria-labelledby=${'hook-' + h.name}>
        <h2 id=${'hook-' + h.name}>${h.name}</h2>
        <p class="small">Verified as <strong>${h.verify}</strong> · secret ${h.secret} · ${h.action.type === 'job' ? `submits a job to ${h.action.service ?? '?'}` : `opens a task`} · from ${h.source}</p>
        <p class="small">URL <code class="wrap">${h.url}</code></p>
        <${Deliveries} entries=${byHook.get(h.name) ?? []} loaded=${deliveries.loaded} />
      </section>`,
    )}
    ${
      unknown.length
        ? html`<section aria-labelledby="hook-unknown"><h2 id="hook-unknown">Deliveries to unknown hooks</h2>
          ${unknown.map((n) => html`<h3>${n}</h3><${Deliveries} entries=${byHook.get(n) ?? []} loaded=${deliveries.loaded} />`)}
        </section>`
        : null
    }`;
}

function verdict(e: AuditEntry): string {
  if (e.outcome === 'ok') return e.detail?.['duplicate'] === true ? 'duplicate' : 'verified';
  return e.outcome === 'denied' ? 'refused' : 'error';
}

const VERDICT_TONE: Record<string, string> = { verified: 'ok', duplicate: 'canceled', refused: 'denied', error: 'error' };

function Deliveries({ entries, loaded }: { entries: AuditEntry[]; loaded: boolean }) {
  if (!loaded) return html`<${Loading} what="deliveries" />`;
  if (entries.length === 0) return html`<p class="muted small">No deliveries in the recent audit log.</p>`;
  const recent = entries.slice(-PER_HOOK).reverse();
  return html`<div class="table-wrap"><table class="small">
    <caption class="sr-only">Recent deliveries</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Verdict</th><th scope="col">Why / delivery</th><th scope="col">Client</th><th scope="col">Result</th></tr></thead>
    <tbody>${recent.map((e) => {
      const v = verdict(e);
      const d = e.detail ?? {};
      // Accepted: the sender's delivery id. Refused: the code and the verifier's reason (mismatch, stale, replayed...).
      const why =
        v === 'verified' || v === 'duplicate'
          ? typeof d['deliveryId'] === 'string'
            ? d['deliveryId']
            : ''
          : [e.code, d['reason']].filter((x) => typeof x === 'string' && x !== '').join(': ');
      return html`<tr key=${e.seq}>
        <td><${When} at=${e.ts} /></td>
        <td><span class=${'badge ' + toneClass(VERDICT_TONE[v] ?? 'muted')}>${v}</span></td>
        <td>${why}</td>
        <td>${e.client ?? ''}</td>
        <td>${typeof d['job'] === 'string' ? `job ${d['job']}` : typeof d['task'] === 'string' ? `task ${d['task']}` : ''}</td>
      </tr>`;
    })}</tbody>
  </table></div>`;
}

function toneClass(state: string): string {
  return state === 'ok' ? 'good' : state === 'denied' || state === 'error' ? 'bad' : 'muted';
}
