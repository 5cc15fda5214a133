/**
 * Tasks: the pending approvals first, then the rest; a task's body, job, comments and timeline;
 * approve or reject with a comment (with the `tasks` scope), bound to the version on screen.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, query, seg } from '../api.js';
import { useApp, useLive } from '../context.js';
import { follow, href } from '../router.js';
import { can } from '../scopes.js';
import type { Task, TaskEvent } from '../types.js';
import { Badge, Loading, Notice, useAction, useLoad, When } from '../ui/common.js';
import { json } from '../ui/format.js';

type TaskList = { tasks: Task[]; next: string | null };

export function Tasks({ selected }: { selected: string | null }) {
  const pending = useLoad(() => api<TaskList>(`/api/v1/tasks${query({ state: 'pending_approval', limit: 100 })}`));
  const all = useLoad(() => api<TaskList>(`/api/v1/tasks${query({ limit: 100 })}`));
  useLive('task.', () => {
    pending.soon();
    all.soon();
  });
  const others = (all.data?.tasks ?? []).filter((t) => t.state !== 'pending_approval');
  return html`<h1>Tasks</h1>
    <section aria-labelledby="pending-h">
      <h2 id="pending-h">Waiting for approval</h2>
      <${Notice} problem=${pending.error} />
      ${!pending.data && !pending.error ? html`<${Loading} what="tasks" />` : null}
      ${pending.data ? html`<${TaskTable} tasks=${pending.data.tasks} selected=${selected} empty="Nothing waits for approval." caption="Tasks waiting for approval" />` : null}
    </section>
    ${selected ? html`<${TaskDetail} key=${selected} id=${selected} />` : null}
    <section aria-labelledby="other-h">
      <h2 id="other-h">Other tasks</h2>
      <${Notice} problem=${all.error} />
      ${all.data ? html`<${TaskTable} tasks=${others} selected=${selected} empty="No other tasks." caption="Other tasks, newest first" />` : null}
    </section>`;
}

function TaskTable({ tasks, selected, empty, caption }: { tasks: Task[]; selected: string | null; empty: string; caption: string }) {
  if (tasks.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-wrap"><table>
    <caption class="sr-only">${caption}</caption>
    <thead><tr><th scope="col">Task</th><th scope="col">State</th><th scope="col">Job</th><th scope="col">From</th><th scope="col">Updated</th></tr></thead>
    <tbody>${tasks.map(
      (t) => html`<tr key=${t.id} class=${selected === t.id ? 'selected' : undefined} data-task=${t.id}>
        <th scope="row"><a href=${href('tasks', t.id)} onClick=${follow}>${t.title}</a></th>
        <td><${Badge} value=${t.state} /></td>
        <td>${t.job ? t.job.service : html`<span class="muted">—</span>`}</td>
        <td>${t.createdBy.name ?? t.source}</td>
        <td><${When} at=${t.updatedAt} /></td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

function TaskDetail({ id }: { id: string }) {
  const { me } = useApp();
  const task = useLoad(() => api<Task>(`/api/v1/tasks/${seg(id)}`), [id]);
  const events = useLoad(() => api<{ events: TaskEvent[] }>(`/api/v1/tasks/${seg(id)}/events`), [id]);
  const action = useAction();
  const [comment, setComment] = useState('');
  useLive('task.', (e) => {
    if (e.data['id'] === id || e.type === 'reset') {
      task.soon();
      events.soon();
    }
  });
  const t = task.data;
  const mayAct = can(me, 'tasks', 'POST');
  const review = (decision: 'approve' | 'reject') =>
    action.run(async () => {
      if (!t) return;
      // Bound to what the reviewer saw: a task changed since (edited, re-submitted) is refused with 409 conflict.
      const body: Record<string, unknown> = { decision, version: t.version };
      if (comment.trim() !== '') body['comment'] = comment.trim();
      await api(`/api/v1/tasks/${seg(id)}/review`, { method: 'POST', body });
      setComment('');
      task.reload();
      events.reload();
    });
  const addComment = (e: Event) => {
    e.preventDefault();
    const text = comment.trim();
    if (text === '') return;
    void action.run(async () => {
      await api(`/api/v1/tasks/${seg(id)}/comments`, { method: 'POST', body: { text } });
      setComment('');
      task.reload();
      events.reload();
    });
  };
  return html`<section class="detail" aria-labelledby="task-h">
    <h2 id="task-h">${t ? t.title : 'Task'}</h2>
    <${Notice} problem=${task.error} />
    ${!t && !task.error ? html`<${Loading} what="the task" />` : null}
    ${
      t
        ? html`<p><${Badge} value=${t.state} /> <span class="muted small">version ${t.version} · from ${t.createdBy.name ?? t.source} · <${When} at=${t.createdAt} /></span></p>
          ${t.body ? html`<pre class="body" tabindex="0">${t.body}</pre>` : null}
          ${
            t.job
              ? html`<h3>Job on approval</h3><p>Service <strong>${t.job.service}</strong>${t.job.id ? html`, job <a href=${href('jobs', t.job.id)} onClick=${follow}><code>${t.job.id}</code></a>` : null}</p>
              ${t.job.payload !== undefined ? html`<pre class="json" tabindex="0">${json(t.job.payload)}</pre>` : null}`
              : null
          }
          ${t.reviewedBy ? html`<p>Reviewed by ${t.reviewedBy.name ?? t.reviewedBy.id} <${When} at=${t.reviewedAt} /></p>` : null}
          <${Notice} problem=${action.problem} label="Refused" />
          ${
            mayAct
              ? html`<form class="review" onSubmit=${addComment}>
                <label for="task-comment">Comment</label>
                <textarea id="task-comment" rows="3" maxlength="20000" value=${comment} onInput=${(e: Event) => setComment((e.currentTarget as HTMLTextAreaElement).value)}></textarea>
                <div class="buttons">
                  ${
                    t.state === 'pending_approval'
                      ? html`<button type="button" class="good" disabled=${action.busy} onClick=${() => review('approve')}>Approve</button>
                        <button type="button" class="bad" disabled=${action.busy} onClick=${() => review('reject')}>Reject</button>`
                      : null
                  }
                  <button type="submit" disabled=${action.busy}>Add comment</button>
                </div>
              </form>`
              : null
          }
          <h3>Timeline</h3>
          <${Notice} problem=${events.error} />
          <ol class="timeline">
            ${(events.data?.events ?? []).map(
              (ev) =>
                html`<li key=${ev.seq}><${When} at=${ev.at} /> <strong>${ev.type}</strong> ${ev.actor ? html`<span class="muted">by ${ev.actor.name ?? ev.actor.id}</span>` : null}${ev.text ? html`<div class="text">${ev.text}</div>` : null}</li>`,
            )}
          </ol>`
        : null
    }
  </section>`;
}
