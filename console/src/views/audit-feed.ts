/**
 * The audit log's tail for the audit and hooks views: the newest entries, then every entry after the
 * last one seen, polled (audit entries are not on the event stream). Admin only, like the API.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, query, type Problem } from '../api.js';
import type { AuditEntry, AuditHead } from '../types.js';
import { problemOf } from '../ui/common.js';

type AuditPage = { entries: AuditEntry[]; next: number | null };

const POLL_MS = 2000;
/** Entries kept on the page: the tail, not the whole log. */
const KEEP = 2000;

export function useAuditTail(
  backlog: number,
  keep: (e: AuditEntry) => boolean = () => true,
): { entries: AuditEntry[]; error: Problem | null; loaded: boolean } {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [error, setError] = useState<Problem | null>(null);
  const [loaded, setLoaded] = useState(false);
  const last = useRef<number | null>(null);
  const filter = useRef(keep);
  filter.current = keep;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        if (last.current === null) {
          const head = await api<AuditHead>('/api/v1/audit/head');
          last.current = Math.max(0, head.seq - backlog);
        }
        // Read up to the head in pages of 1,000 (the API's limit), at most a few pages per poll.
        for (let page = 0; page < 5 && !stopped; page++) {
          const r: AuditPage = await api<AuditPage>(`/api/v1/audit${query({ after: last.current, limit: 1000 })}`);
          if (stopped) return;
          const newest: AuditEntry | undefined = r.entries[r.entries.length - 1];
          if (newest) last.current = newest.seq;
          const kept = r.entries.filter((e) => filter.current(e));
          if (kept.length) setEntries((prev) => [...prev, ...kept].slice(-KEEP));
          if (r.next === null || r.entries.length === 0) break;
        }
        setError(null);
        setLoaded(true);
      } catch (e) {
        if (!stopped) setError(problemOf(e));
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [backlog]);
  return { entries, error, loaded };
}

/** Who an entry names as its actor, as text. */
export function actorOf(e: AuditEntry): string {
  return e.actor?.name ?? e.actor?.id ?? '';
}
