/** "Verify chain": walks the audit chain on the gateway (GET /api/v1/audit/verify) and says what it found. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { Verification } from '../types.js';
import { Notice, useAction } from '../ui/common.js';

export function VerifyChain() {
  const action = useAction();
  const [result, setResult] = useState<Verification | null>(null);
  const verify = () => action.run(async () => setResult(await api<Verification>('/api/v1/audit/verify')));
  return html`<div class="verify">
    <button type="button" onClick=${verify} disabled=${action.busy}>${action.busy ? 'Verifying…' : 'Verify chain'}</button>
    <${Notice} problem=${action.problem} />
    <div role="status" aria-live="polite">
      ${
        result
          ? result.ok && result.security.ok
            ? html`<p class="good-text">The chain verifies: ${result.entries} entries (#${result.firstSeq} to #${result.lastSeq}), and the security log's ${result.security.entries}.</p>`
            : html`<p class="bad-text">The chain is broken${result.broken ? html`: ${result.broken.file} line ${result.broken.line}, ${result.broken.reason}` : null}${
                result.security.broken
                  ? html`; security log: ${result.security.broken.file} line ${result.security.broken.line}, ${result.security.broken.reason}`
                  : null
              }.</p>`
          : null
      }
      ${result?.notes.length ? html`<ul class="small">${result.notes.map((n) => html`<li>${n}</li>`)}</ul>` : null}
    </div>
  </div>`;
}
