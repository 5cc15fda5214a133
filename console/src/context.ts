/** What every view reads: who is signed in, and the live feed. Set once by the app after sign-in. */
import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { Live, LiveEvent } from './live.js';
import type { Me } from './types.js';

export interface Ctx {
  me: Me;
  live: Live;
}

export const AppContext = createContext<Ctx | null>(null);

export function useApp(): Ctx {
  const c = useContext(AppContext);
  if (!c) throw new Error('useApp outside the signed-in app');
  return c;
}

/**
 * Runs `fn` for each live event whose type starts with `prefix`, and for `reset` (the feed could not
 * resume: refetch). The latest `fn` is called, so it may read the latest state.
 */
export function useLive(prefix: string, fn: (e: LiveEvent) => void): void {
  const { live } = useApp();
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    const call = (e: LiveEvent) => latest.current(e);
    const off = live.on(prefix, call);
    const offReset = live.on('reset', call);
    return () => {
      off();
      offReset();
    };
  }, [live, prefix]);
}
