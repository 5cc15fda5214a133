/**
 * Services: state, health, last transition, start/stop/restart (with the `services` scope), and a
 * live tail of a service's captured output (polled after the last line seen; lines shown as text).
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, query, seg, type Problem } from '../api.js';
import { useApp, useLive } from '../context.js';
import { follow, href } from '../router.js';
import { can, holds } from '../scopes.js';
import type { LogLine, Service } from '../types.js';
import { Badge, Loading, NotAllowed, Notice, problemOf, useAction, useLoad, When } from '../ui/common.js';

const TAIL_EVERY_MS = 2000;

export function Services({ selected }: { selected: string | null }) {
  const { me } = useApp();
  const list = useLoad(() => api<{ services: Service[] }>('/api/v1/services'));
  const [transitions, setTransitions] = useState<Record<string, string>>({});
  const action = useAction();
  useLive('service.', (e) => {
    if (e.type === 'service.state' && typeof e.data['service'] === 'string' && typeof e.data['at'] === 'string') {
      const name = e.data['service'];
      const at = e.data['at'];
      setTransitions((t) => ({ ...t, [name]: at }));
    }
    list.soon();
  });
  const act = (name: string, verb: 'start' | 'stop' | 'restart') =>
    action.run(async () => {
      await api(`/api/v1/services/${seg(name)}/${verb}`, { method: 'POST' });
      list.soon();
    });
  const mayAct = can(me, 'services', 'POST');
  const services = list.data?.services ?? [];
  return html`<h1>Services</h1>
    <${Notice} problem=${list.error} />
    <${Notice} problem=${action.problem} label="Refused" />
    ${!list.data && !list.error ? html`<${Loading} what="services" />` : null}
    ${list.data && services.length === 0 ? html`<p class="muted">No services are registered.</p>` : null}
    ${
      services.length
        ? html`<div class="table-wrap"><table>
          <caption class="sr-only">Services and their state</caption>
          <thead><tr><th scope="col">Service</th><th scope="col">State</th><th scope="col">Health</th><th scope="col">Last transition</th><th scope="col">Restarts</th>${mayAct ? html`<th scope="col">Actions</th>` : null}</tr></thead>
          <tbody>
            ${services.map(
              (s) => html`<tr key=${s.name} class=${selected === s.name ? 'selected' : undefined}>
              <th scope="row"><a href=${href('services', s.name)} onClick=${follow}>${s.name}</a> <span class="muted small">${s.kind}</span></th>
              <td><${Badge} value=${s.state} /></td>
              <td>${health(s)}</td>
              <td><${When} at=${transitions[s.name] ?? latest(s.startedAt, s.lastExit?.at ?? null)} /></td>
              <td>${s.restarts}</td>
              ${
                mayAct
                  ? html`<td class="actions">
                    <button type="button" disabled=${action.busy} onClick=${() => act(s.name, 'start')} aria-label=${'Start ' + s.name}>Start</button>
                    <button type="button" disabled=${action.busy} onClick=${() => act(s.name, 'stop')} aria-label=${'Stop ' + s.name}>Stop</button>
                    <button type="button" disabled=${action.busy} onClick=${() => act(s.name, 'restart')} aria-label=${'Restart ' + s.name}>Restart</button>
                  </td>`
                  : null
              }
            </tr>`,
            )}
          </tbody>
        </table></div>`
        : null
    }
    ${selected ? (holds(me, 'services') ? html`<${LogTail} key=${selected} name=${selected} />` : html`<${NotAllowed} what="A service's log" scope="services" />`) : null}`;
}

function health(s: Service) {
  const h = s.lastHealth;
  if (!h) return html`<span class="muted">not probed</span>`;
  return html`<span title=${h.at}>${h.ok ? html`<${Badge} value="healthy" />` : html`<${Badge} value="unhealthy" />`} <span class="muted small">${h.status ?? h.error ?? ''} · ${Math.round(h.ms)} ms</span></span>`;
}

function latest(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

/** The last lines of a service's output, then every new line, polled from after the last seq seen. */
function LogTail({ name }: { name: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<Problem | null>(null);
  const [stick, setStick] = useState(true);
  const last = useRef<number | null>(null);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const q = last.current === null ? query({ tail: 200 }) : query({ after: last.current });
        const r = await api<{ lines: LogLine[]; lastSeq: number }>(`/api/v1/services/${seg(name)}/logs${q}`);
        if (stopped) return;
        last.current = r.lastSeq;
        if (r.lines.length) setLines((prev) => [...prev, ...r.lines].slice(-1000));
        setError(null);
      } catch (e) {
        if (!stopped) setError(problemOf(e));
      }
      if (!stopped) timer = setTimeout(poll, TAIL_EVERY_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [name]);
  useEffect(() => {
    if (stick && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, stick]);
  return html`<section aria-labelledby="log-h">
    <h2 id="log-h">Log of ${name}</h2>
    <${Notice} problem=${error} />
    <label class="inline"><input type="checkbox" checked=${stick} onChange=${(e: Event) => setStick((e.currentTarget as HTMLInputElement).checked)} /> Follow new lines</label>
    <pre class="log" ref=${box} tabindex="0" aria-label=${'Output of ' + name}>${lines.length === 0 ? 'No output yet.' : lines.map((l) => html`<span key=${l.seq} class=${l.stream === 'stderr' ? 'line stderr' : 'line'}>${l.ts.slice(11, 19)} ${l.line}</span>`)}</pre>
  </section>`;
}
