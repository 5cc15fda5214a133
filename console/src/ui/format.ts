/** Formatting of times, durations and values for display. Pure functions; the output is always text. */

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < 0) return 'in ' + duration(-s);
  if (s < 5) return 'just now';
  return duration(s) + ' ago';
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function clock(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString();
}

/** A value as indented JSON text (rendered inside <pre> as text, never parsed as markup). */
export function json(value: unknown, max = 20_000): string {
  let s: string;
  try {
    s = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > max ? s.slice(0, max) + '\n… (cut)' : s;
}

/** A short label of a job from its payload (name, title or prompt), when the caller may see it. */
export function jobLabel(payload: unknown): string {
  if (!payload || typeof payload !== 'object') return '';
  const p = payload as Record<string, unknown>;
  for (const k of ['name', 'title', 'prompt', 'input']) {
    const v = p[k];
    if (typeof v === 'string' && v !== '') return v.length > 80 ? v.slice(0, 79) + '…' : v;
  }
  return '';
}

export function ttlOptions(): Array<{ label: string; seconds: number | null }> {
  return [
    { label: '5 minutes', seconds: 300 },
    { label: '1 hour', seconds: 3600 },
    { label: '1 day', seconds: 86400 },
    { label: '30 days', seconds: 30 * 86400 },
    { label: '1 year', seconds: 365 * 86400 },
    { label: 'no expiry', seconds: null },
  ];
}
