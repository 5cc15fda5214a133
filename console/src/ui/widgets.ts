/** Copy button and countdown: small interactive pieces with accessible names. */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { duration } from './format.js';

/** Copies `text` to the clipboard; says so in a live region (a screen reader hears it). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<'copied' | 'failed' | ''>('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('copied');
    } catch {
      setDone('failed');
    }
  };
  return html`<span class="copy">
    <button type="button" onClick=${copy} aria-label=${label}>Copy</button>
    <span class="muted" role="status" aria-live="polite">${done === 'copied' ? 'Copied' : done === 'failed' ? 'Select and copy it by hand' : ''}</span>
  </span>`;
}

/** Seconds left until `until`, updated every second; "expired" at zero. */
export function Countdown({ until, onExpire }: { until: string; onExpire?: () => void }) {
  const end = Date.parse(until);
  const [left, setLeft] = useState(() => Math.max(0, Math.round((end - Date.now()) / 1000)));
  useEffect(() => {
    const t = setInterval(() => {
      const s = Math.max(0, Math.round((end - Date.now()) / 1000));
      setLeft(s);
      if (s === 0) {
        clearInterval(t);
        onExpire?.();
      }
    }, 1000);
    return () => clearInterval(t);
  }, [end]);
  return html`<span class="countdown" role="timer" aria-live="off">${left === 0 ? 'expired' : duration(left) + ' left'}</span>`;
}
