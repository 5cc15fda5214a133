/**
 * The console shell: boot (sign-in exchange, then who am I), the signed-in layout with its
 * navigation, sign-out, and the return to sign-in whenever the session ends (a 401, or `end` on the
 * live feed after a revocation, an expiry or an admin token rotation).
 */
import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, whenUnauthorized, type Problem } from './api.js';
import { AppContext } from './context.js';
import { Live } from './live.js';
import { follow, href, useRoute } from './router.js';
import { can } from './scopes.js';
import { exchange, SignIn } from './signin.js';
import type { Me } from './types.js';
import { problemOf } from './ui/common.js';
import { Access } from './views/access.js';
import { AuditView } from './views/audit.js';
import { Hooks } from './views/hooks.js';
import { Jobs } from './views/jobs.js';
import { Overview } from './views/overview.js';
import { Services } from './views/services.js';
import { Tasks } from './views/tasks.js';

type State = { phase: 'loading' } | { phase: 'signin'; message?: string; problem?: Problem } | { phase: 'in'; me: Me };

const VIEWS = [
  { view: '', label: 'Overview', needs: 'read' },
  { view: 'services', label: 'Services', needs: 'services' },
  { view: 'jobs', label: 'Jobs', needs: 'jobs' },
  { view: 'tasks', label: 'Tasks', needs: 'tasks' },
  { view: 'hooks', label: 'Hooks', needs: 'admin' },
  { view: 'audit', label: 'Audit', needs: 'admin' },
  { view: 'access', label: 'Access', needs: 'admin' },
] as const;

export function App({ signinCode }: { signinCode: string | null }) {
  const [state, setState] = useState<State>({ phase: 'loading' });

  const whoAmI = async (after?: Problem) => {
    try {
      setState({ phase: 'in', me: await api<Me>('/api/v1/me', { quiet401: true }) });
    } catch (e) {
      const p = problemOf(e);
      setState(p.status === 401 ? (after ? { phase: 'signin', problem: after } : { phase: 'signin' }) : { phase: 'signin', problem: p });
    }
  };

  useEffect(() => {
    whenUnauthorized(() => setState({ phase: 'signin', message: 'Your session ended. Sign in again.' }));
    void (async () => {
      if (signinCode !== null) {
        try {
          await exchange(signinCode);
        } catch (e) {
          // A used or expired link: say so, and still use a session this browser may already have.
          return whoAmI(problemOf(e));
        }
      }
      return whoAmI();
    })();
  }, []);

  if (state.phase === 'loading') return html`<main id="main" class="signin"><p role="status">Loading…</p></main>`;
  if (state.phase === 'signin') return html`<${SignIn} onSignedIn=${() => whoAmI()} message=${state.message} problem=${state.problem} />`;
  return html`<${Shell} me=${state.me} onEnded=${(message: string) => setState({ phase: 'signin', message })} />`;
}

function Shell({ me, onEnded }: { me: Me; onEnded: (message: string) => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const live = useMemo(
    () =>
      new Live((reason) => {
        // `end` from the server: the session is over now; nothing retries with it.
        if (reason !== '') onEnded(`Your session ended: ${reason}.`);
        else void api('/api/v1/me').catch(() => undefined);
      }),
    [],
  );
  const watches = ['admin', 'read', 'jobs', 'jobs:all', 'services', 'tasks'].some((s) => me.scopes.includes(s));
  useEffect(() => {
    if (watches) live.start();
    return () => live.stop();
  }, [live]);
  // Keyboard and screen-reader users land on the new view's content after following a link.
  useEffect(() => {
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [route.view, route.id]);

  const signOut = async () => {
    live.stop();
    try {
      await api('/api/v1/console/session', { method: 'DELETE', quiet401: true });
    } catch {
      // Already ended server-side: the page signs out all the same.
    }
    onEnded('Signed out.');
  };

  const views = VIEWS.filter((v) => can(me, v.needs, 'GET'));
  // The overview needs `read`: a session with only `jobs` (say) starts on the first view it may see.
  const current = route.view === '' && route.id === null ? views[0] : views.find((v) => v.view === route.view);
  return html`<${AppContext.Provider} value=${{ me, live }}>
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand" aria-hidden="true">Moat</span>
      <nav aria-label="Console">
        <ul>
          ${views.map(
            (v) => html`<li><a href=${href(v.view)} onClick=${follow} aria-current=${current?.view === v.view ? 'page' : undefined}>${v.label}</a></li>`,
          )}
        </ul>
      </nav>
      <div class="who">
        <span title=${me.scopes.join(' ')}>${me.name ?? me.kind} <span class="muted">(${me.scopes.join(', ')})</span></span>
        ${me.kind === 'session' ? html`<button type="button" onClick=${signOut}>Sign out</button>` : null}
      </div>
    </header>
    <main id="main" tabindex="-1" ref=${main}>
      ${
        current
          ? viewOf(current.view, route.id)
          : views.length === 0
            ? html`<h1>Nothing to show</h1><p>This session's scopes (${me.scopes.join(', ')}) reach no page of the console.</p>`
            : html`<h1>Not found</h1><p>There is no such page in the console, or this session may not see it. <a href=${href('')} onClick=${follow}>Start page</a></p>`
      }
    </main>
  </${AppContext.Provider}>`;
}

function viewOf(view: string, id: string | null) {
  switch (view) {
    case 'services':
      return html`<${Services} selected=${id} />`;
    case 'jobs':
      return html`<${Jobs} selected=${id} />`;
    case 'tasks':
      return html`<${Tasks} selected=${id} />`;
    case 'hooks':
      return html`<${Hooks} />`;
    case 'audit':
      return html`<${AuditView} />`;
    case 'access':
      return html`<${Access} />`;
    default:
      return html`<${Overview} />`;
  }
}
