/**
 * Client routes under /console/ (the gateway answers each with index.html): history.pushState, so
 * the fragment stays free for #signin= and the back button works. Paths only, never a secret.
 */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console/';

export interface Route {
  view: string;
  id: string | null;
}

export function parse(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : '';
  const [view = '', id] = rest.split('/').filter((s) => s !== '');
  let decoded: string | null = null;
  if (id !== undefined) {
    try {
      decoded = decodeURIComponent(id);
    } catch {
      decoded = null;
    }
  }
  return { view, id: decoded };
}

export function href(view: string, id?: string): string {
  return BASE + (view === '' ? '' : view) + (id === undefined ? '' : '/' + encodeURIComponent(id));
}

const listeners = new Set<() => void>();

export function navigate(to: string): void {
  if (to === location.pathname) return;
  history.pushState(null, '', to);
  for (const l of listeners) l();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parse(location.pathname));
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** A click on an in-console link: routed here unless the user asked for a new tab or window. */
export function follow(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.currentTarget as HTMLAnchorElement;
  e.preventDefault();
  navigate(a.pathname);
}
