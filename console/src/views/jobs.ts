/**
 * Jobs: a live table (state, service, attempts, a progress bar moved by /api/v1/events without a
 * reload), filters by service and state, a job's detail with its result or error, and cancel.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, query, seg } from '../api.js';
import { useApp, useLive } from '../context.js';
import { follow, href } from '../router.js';
import { can } from '../scopes.js';
import type { Job } from '../types.js';
import { Badge, Loading, Notice, useAction, useLoad, When } from '../ui/common.js';
import { json, jobLabel } from '../ui/format.js';

const STATES = ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'canceled'] as const;
const ACTIVE = new Set(['queued', 'dispatched', 'running']);

/** An event's changes applied to the job it names. */
function applyEvent(job: Job, type: string, d: Record<string, unknown>): Job {
  const next: Job = { ...job };
  if (typeof d['state'] === 'string') next.state = d['state'];
  if (typeof d['attempt'] === 'number') next.attempts = d['attempt'];
  if (typeof d['attempts'] === 'number') next.attempts = d['attempts'];
  if (type === 'job.progress')
    next.progress = { value: typeof d['progress'] === 'number' ? d['progress'] : null, message: typeof d['message'] === 'string' ? d['message'] : null };
  if (type === 'job.succeeded') next.progress = { value: 1, message: next.progress.message };
  return next;
}

export function Jobs({ selected }: { selected: string | null }) {
  const { me } = useApp();
  const [service, setService] = useState('');
  const [state, setState] = useState('');
  const list = useLoad(() => api<{ jobs: Job[]; next: string | null }>(`/api/v1/jobs${query({ service, state, limit: 100 })}`), [service, state]);
  useLive('job.', (e) => {
    const id = e.data['id'];
    if (e.type === 'reset' || typeof id !== 'string') return list.soon();
    const known = list.data?.jobs.some((j) => j.id === id);
    // A job we have not seen (submitted elsewhere): fetch the list again, with the filters.
    if (!known) return list.soon();
    list.set((prev) => prev && { ...prev, jobs: prev.jobs.map((j) => (j.id === id ? applyEvent(j, e.type, e.data) : j)) });
  });
  const jobs = list.data?.jobs ?? [];
  return html`<h1>Jobs</h1>
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Filter jobs">
      <label>Service <input type="text" name="service" value=${service} maxlength="64" onChange=${(e: Event) => setService((e.currentTarget as HTMLInputElement).value.trim())} /></label>
      <label>State <select name="state" value=${state} onChange=${(e: Event) => setState((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">any</option>
        ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
    </form>
    <${Notice} problem=${list.error} />
    ${!list.data && !list.error ? html`<${Loading} what="jobs" />` : null}
    ${list.data && jobs.length === 0 ? html`<p class="muted">No jobs${service || state ? ' match these filters' : ' yet'}.</p>` : null}
    ${
      jobs.length
        ? html`<div class="table-wrap"><table class="jobs">
          <caption class="sr-only">Jobs, newest first, updated live</caption>
          <thead><tr><th scope="col">Job</th><th scope="col">Service</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Progress</th><th scope="col">Submitted</th></tr></thead>
          <tbody>${jobs.map((j) => html`<${Row} key=${j.id} job=${j} selected=${selected === j.id} />`)}</tbody>
        </table></div>`
        : null
    }
    ${selected ? html`<${JobDetail} key=${selected} id=${selected} mayCancel=${can(me, 'jobs', 'POST')} />` : null}`;
}

function Row({ job, selected }: { job: Job; selected: boolean }) {
  const label = jobLabel(job.payload);
  return html`<tr class=${selected ? 'selected' : undefined} data-job=${job.id} data-state=${job.state}>
    <th scope="row"><a href=${href('jobs', job.id)} onClick=${follow}><code>${job.id.slice(0, 12)}</code></a>${label ? html` <span class="label">${label}</span>` : null}</th>
    <td>${job.service}</td>
    <td><${Badge} value=${job.state} /></td>
    <td>${job.attempts}/${job.maxAttempts}</td>
    <td><${Progress} job=${job} /></td>
    <td><${When} at=${job.createdAt} /></td>
  </tr>`;
}

function Progress({ job }: { job: Job }) {
  const value = job.state === 'succeeded' ? 1 : job.progress.value;
  const text = value === null ? (ACTIVE.has(job.state) ? 'not reported' : '—') : `${Math.round(value * 100)}%`;
  return html`<span class="progress">
    <progress max="1" value=${value ?? undefined} aria-label=${'Progress of job ' + job.id}>${text}</progress>
    <span class="small">${text}${job.progress.message ? ' · ' : ''}${job.progress.message ?? ''}</span>
  </span>`;
}

function JobDetail({ id, mayCancel }: { id: string; mayCancel: boolean }) {
  const job = useLoad(() => api<Job>(`/api/v1/jobs/${seg(id)}`), [id]);
  const action = useAction();
  useLive('job.', (e) => {
    if (e.data['id'] === id || e.type === 'reset') job.soon();
  });
  const cancel = () =>
    action.run(async () => {
      await api(`/api/v1/jobs/${seg(id)}/cancel`, { method: 'POST' });
      job.reload();
    });
  const j = job.data;
  return html`<section class="detail" aria-labelledby="job-h">
    <h2 id="job-h">Job <code>${id}</code></h2>
    <${Notice} problem=${job.error} />
    <${Notice} problem=${action.problem} label="Refused" />
    ${
      j
        ? html`<dl class="facts">
            <dt>State</dt><dd><${Badge} value=${j.state} /> <${Progress} job=${j} /></dd>
            <dt>Service</dt><dd>${j.service}</dd>
            <dt>Attempts</dt><dd>${j.attempts} of ${j.maxAttempts}</dd>
            <dt>Submitted by</dt><dd>${j.createdBy.name ?? j.createdBy.id ?? '—'} <${When} at=${j.createdAt} /></dd>
            <dt>Started</dt><dd><${When} at=${j.startedAt} /></dd>
            <dt>Finished</dt><dd><${When} at=${j.finishedAt} /></dd>
          </dl>
          ${mayCancel && ACTIVE.has(j.state) ? html`<button type="button" onClick=${cancel} disabled=${action.busy}>Cancel job</button>` : null}
          ${j.error ? html`<h3>Error</h3><p class="bad-text"><code>${j.error.code}</code> ${j.error.message}</p>` : null}
          ${j.access === 'full' && j.result !== undefined && j.result !== null ? html`<h3>Result</h3><pre class="json" tabindex="0">${json(j.result)}</pre>` : null}
          ${j.access === 'full' && j.payload !== undefined ? html`<h3>Payload</h3><pre class="json" tabindex="0">${json(j.payload)}</pre>` : null}
          ${j.access === 'summary' ? html`<p class="muted">Another principal's job: its payload and result are not shown.</p>` : null}`
        : job.error
          ? null
          : html`<${Loading} what="the job" />`
    }
  </section>`;
}
