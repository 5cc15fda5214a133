/** Audit: a live tail of the audit log with filters by type and actor, and "verify chain". */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { AuditEntry } from '../types.js';
import { Badge, Loading, Notice, When } from '../ui/common.js';
import { json } from '../ui/format.js';
import { actorOf, useAuditTail } from './audit-feed.js';
import { VerifyChain } from './verify.js';

const SHOWN = 300;

export function AuditView() {
  const tail = useAuditTail(500);
  const [type, setType] = useState('');
  const [actor, setActor] = useState('');
  const t = type.trim().toLowerCase();
  const a = actor.trim().toLowerCase();
  const shown = tail.entries
    .filter(
      (e) =>
        (t === '' || e.type.toLowerCase().includes(t)) && (a === '' || actorOf(e).toLowerCase().includes(a) || (e.actor?.id ?? '').toLowerCase().includes(a)),
    )
    .slice(-SHOWN)
    .reverse();
  return html`<h1>Audit</h1>
    <${VerifyChain} />
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Filter audit entries">
      <label>Type <input type="search" name="type" placeholder="e.g. task.review" value=${type} onInput=${(e: Event) => setType((e.currentTarget as HTMLInputElement).value)} /></label>
      <label>Actor <input type="search" name="actor" placeholder="name or id" value=${actor} onInput=${(e: Event) => setActor((e.currentTarget as HTMLInputElement).value)} /></label>
    </form>
    <${Notice} problem=${tail.error} />
    ${!tail.loaded && !tail.error ? html`<${Loading} what="the audit log" />` : null}
    ${tail.loaded && shown.length === 0 ? html`<p class="muted">No entries${t || a ? ' match these filters' : ''}.</p>` : null}
    ${
      shown.length
        ? html`<div class="table-wrap"><table class="audit">
          <caption class="sr-only">Audit entries, newest first, updated live</caption>
          <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Type</th><th scope="col">Outcome</th><th scope="col">Actor</th><th scope="col">Client</th><th scope="col">Detail</th></tr></thead>
          <tbody>${shown.map((e) => html`<${Row} key=${e.seq} e=${e} />`)}</tbody>
        </table></div>`
        : null
    }`;
}

function Row({ e }: { e: AuditEntry }) {
  const what = [e.method, e.route, e.status, e.code].filter((x) => x !== undefined && x !== null).join(' ');
  return html`<tr data-type=${e.type}>
    <td>${e.seq}</td>
    <td><${When} at=${e.ts} /></td>
    <th scope="row">${e.type}</th>
    <td><${Badge} value=${e.outcome} /></td>
    <td>${actorOf(e)}</td>
    <td>${e.client ?? ''}</td>
    <td>${what ? html`<div class="small">${what}</div>` : null}${e.detail ? html`<details><summary>detail</summary><pre class="json">${json(e.detail, 4000)}</pre></details>` : null}</td>
  </tr>`;
}
