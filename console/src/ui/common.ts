/**
 * Small building blocks shared by the views: loading data, running an action with its problem
 * shown, notices, badges. Everything from the system is passed as a child (text), never as markup.
 */
import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { Problem } from '../api.js';
import { ago, clock } from './format.js';

/** How long a burst of live events is gathered before one refetch. */
const SOON_MS = 250;

export function problemOf(err: unknown): Problem {
  return err instanceof Problem ? err : new Problem(0, 'internal', err instanceof Error ? err.message : String(err));
}

export interface Loaded<T> {
  data: T | null;
  error: Problem | null;
  reload: () => void;
  /** reload() once after a burst of calls (live events), not once per call. */
  soon: () => void;
  set: (fn: (prev: T | null) => T | null) => void;
}

/** Loads `fn()` now and whenever `reload()` is called; a slower older answer never overwrites a newer one. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Problem | null>(null);
  const gen = useRef(0);
  const reload = useCallback(() => {
    const mine = ++gen.current;
    fn().then(
      (d) => {
        if (mine !== gen.current) return;
        setData(d);
        setError(null);
      },
      (e: unknown) => {
        if (mine === gen.current) setError(problemOf(e));
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const soon = useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      reload();
    }, SOON_MS);
  }, [reload]);
  useEffect(() => {
    reload();
    return () => {
      gen.current++;
      clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [reload]);
  return { data, error, reload, soon, set: (f) => setData((prev) => f(prev)) };
}

/** Runs user actions one at a time: `busy` while it runs, the refusal's problem kept for display. */
export function useAction(): { busy: boolean; problem: Problem | null; run: (fn: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(null);
    try {
      await fn();
      return true;
    } catch (e) {
      setProblem(problemOf(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, run, clear: () => setProblem(null) };
}

/** A refused or failed call: its `detail` (what the server said), and its code for the curious. */
export function Notice({ problem, label }: { problem: Problem | null; label?: string }) {
  if (!problem) return null;
  return html`<div class="notice bad" role="alert">
    ${label ? html`<strong>${label}: </strong>` : null}<span class="detail">${problem.detail}</span>
    ${problem.code ? html` <code class="code">${problem.code}</code>` : null}
  </div>`;
}

export function Loading({ what }: { what: string }) {
  return html`<p class="muted" role="status">Loading ${what}…</p>`;
}

/** A view this session's scopes cannot read. */
export function NotAllowed({ what, scope }: { what: string; scope: string }) {
  return html`<p class="notice" role="note">${what} needs the <code>${scope}</code> scope, which this session does not have.</p>`;
}

const TONE: Record<string, string> = {
  ok: 'good',
  running: 'info',
  healthy: 'good',
  succeeded: 'good',
  approved: 'good',
  done: 'good',
  warn: 'warn',
  queued: 'muted',
  dispatched: 'info',
  starting: 'info',
  pending_approval: 'warn',
  open: 'info',
  retrying: 'warn',
  fail: 'bad',
  failed: 'bad',
  unhealthy: 'bad',
  rejected: 'bad',
  denied: 'bad',
  error: 'bad',
  blocked: 'bad',
  crashed: 'bad',
  canceled: 'muted',
  stopped: 'muted',
  stopping: 'muted',
  idle: 'muted',
  backoff: 'warn',
};

export function Badge({ value }: { value: string }) {
  return html`<span class=${'badge ' + (TONE[value] ?? 'muted')}>${value}</span>`;
}

/** A time shown relative ("3m ago"), with the absolute time as the element's datetime and title. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return html`<span class="muted">—</span>`;
  return html`<time datetime=${at} title=${clock(at)}>${ago(at)}</time>`;
}

/** Re-renders every `ms` (relative times, countdowns). */
export function useTick(ms: number): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setN((x) => x + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
  return n;
}
