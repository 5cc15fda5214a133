/**
 * Overview: the gateway's posture (bind, TLS and fingerprint, auth, version, uptime), the doctor's
 * verdict with every warning and failure and its fix, door activity over 24 h, and the audit head
 * with "verify chain". Admin-only parts are left out for other sessions.
 */
import { html } from 'htm/preact';
import { api } from '../api.js';
import { useApp } from '../context.js';
import { can } from '../scopes.js';
import type { AuditHead, Doctor, Status } from '../types.js';
import { Badge, Loading, Notice, useLoad } from '../ui/common.js';
import { duration } from '../ui/format.js';
import { VerifyChain } from './verify.js';

export function Overview() {
  const { me } = useApp();
  const admin = can(me, 'admin', 'GET');
  const status = useLoad(() => api<Status>('/api/v1/status'));
  return html`<h1>Overview</h1>
    <section aria-labelledby="gw-h">
      <h2 id="gw-h">Gateway</h2>
      <${Notice} problem=${status.error} />
      ${status.data ? html`<${Posture} s=${status.data} />` : status.error ? null : html`<${Loading} what="status" />`}
    </section>
    ${admin ? html`<${DoctorPanel} /><${AuditPanel} />` : null}`;
}

function Posture({ s }: { s: Status }) {
  return html`<dl class="facts">
    <dt>Bind</dt><dd><code>${s.bind.address}:${s.bind.port}</code> <span class="muted">(${s.bind.class})</span></dd>
    <dt>TLS</dt><dd>${s.tls.enabled ? 'on' : 'off'}</dd>
    ${s.tls.fingerprint ? html`<dt>Certificate fingerprint</dt><dd><code class="wrap">${s.tls.fingerprint}</code></dd>` : null}
    <dt>Authentication</dt><dd>${s.auth.enabled ? 'on' : html`<strong class="bad-text">off (local development only)</strong>`}</dd>
    <dt>Version</dt><dd>${s.version}</dd>
    <dt>Uptime</dt><dd>${duration(s.uptimeSeconds)}</dd>
  </dl>`;
}

function DoctorPanel() {
  const doctor = useLoad(() => api<Doctor>('/api/v1/doctor'));
  const d = doctor.data;
  const activity = d?.checks.filter((c) => c.id.startsWith('activity.')) ?? [];
  const problems = d?.checks.filter((c) => c.severity !== 'ok') ?? [];
  return html`<section aria-labelledby="doc-h">
      <h2 id="doc-h">Doctor ${d ? html`<${Badge} value=${d.verdict} />` : null}</h2>
      <${Notice} problem=${doctor.error} />
      ${!d && !doctor.error ? html`<${Loading} what="the doctor's checks" />` : null}
      ${
        d
          ? html`${
              problems.length === 0
                ? html`<p>Every check passed (${d.checks.length}).</p>`
                : html`<ul class="checks">
                  ${problems.map(
                    (c) => html`<li key=${c.id}><${Badge} value=${c.severity} /> <strong>${c.id}</strong>: ${c.finding}
                      <div class="fix">Fix: <span>${c.fix}</span></div></li>`,
                  )}
                </ul>`
            }
            <p class="muted small">Checked ${new Date(d.checkedAt).toLocaleTimeString()}. <button type="button" class="link" onClick=${doctor.reload}>Check again</button></p>`
          : null
      }
    </section>
    <section aria-labelledby="act-h">
      <h2 id="act-h">Door, last 24 hours</h2>
      ${activity.length ? html`<ul class="plain">${activity.map((c) => html`<li key=${c.id}><${Badge} value=${c.severity} /> ${c.finding}</li>`)}</ul>` : html`<p class="muted">No figures yet.</p>`}
    </section>`;
}

function AuditPanel() {
  const head = useLoad(() => api<AuditHead>('/api/v1/audit/head'));
  return html`<section aria-labelledby="audit-h">
    <h2 id="audit-h">Audit log</h2>
    <${Notice} problem=${head.error} />
    ${head.data ? html`<p>Newest entry <strong>#${head.data.seq}</strong>, hash <code class="wrap">${head.data.hash}</code></p>` : null}
    <${VerifyChain} />
  </section>`;
}
