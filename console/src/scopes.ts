/**
 * What the signed-in principal may do, to decide which buttons to show. A copy of the server's rule
 * (src/security/scopes.ts) for display only: the server decides, and refuses what the page would not show.
 */
import type { Me } from './types.js';

const READABLE = new Set(['read', 'services', 'jobs', 'hooks', 'tasks', 'tools']);

/** Whether `me` holds a scope that allows `method` on a route needing `required`. */
export function can(me: Me, required: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'POST'): boolean {
  const held = new Set(me.scopes);
  if (held.has('admin')) return true;
  if (required === 'admin') return false;
  if (held.has(required)) return true;
  if (required === 'jobs' && held.has('jobs:all')) return true;
  return method === 'GET' && held.has('read') && READABLE.has(required);
}

/** `services` itself (service logs and events need it; `read` does not stand in). */
export function holds(me: Me, scope: string): boolean {
  return me.scopes.includes('admin') || me.scopes.includes(scope);
}

/** The scopes a token or pairing code can be given from the page (admin only for tokens). */
export const GRANTABLE = ['read', 'jobs', 'jobs:all', 'services', 'tasks', 'hooks', 'tools', 'metrics'] as const;
