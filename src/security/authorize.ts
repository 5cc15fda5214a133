/**
 * Authorization: the route's declared scope against the principal's scopes. Fail closed: a bearer
 * route that declares no scope is refused (and refused at registration, see http/pipeline.ts).
 */
import { GatewayError } from '../errors.js';
import type { Principal } from '../crypto/principal.js';
import { scopeAllows, scopeHeld } from '../crypto/scopes.js';
import type { ScopeRequirement } from './guard-state.js';

/** What authorization reads of a routed request (Fastify's request as it is). */
export interface RoutedRequest {
  readonly method: string;
  /** The route's parameters, for a scope computed from them (`svc:<name>`). */
  readonly params: unknown;
}

export function authorize() {
  /** Returns the scope that was required (recorded in the audit entry). */
  function authorize(req: RoutedRequest, principal: Principal, requirement: ScopeRequirement | undefined): string {
    if (requirement === undefined) throw new GatewayError('scope_required', 'this route declares no scope and is closed', { extra: { scope: 'admin' } });
    if (Array.isArray(requirement)) {
      for (const s of requirement as readonly string[]) if (scopeAllows(principal.scopes, s, req.method)) return s;
      throw new GatewayError('scope_required', `this route needs one of the scopes ${requirement.join(', ')}`, { extra: { scope: requirement[0] } });
    }
    if (typeof requirement === 'object' && 'authenticated' in requirement) return 'authenticated';
    if (typeof requirement === 'object' && 'exact' in requirement) {
      // Not for `read`: what the route shows can hold what clients sent (a service's output).
      if (!scopeHeld(principal.scopes, requirement.exact)) {
        throw new GatewayError('scope_required', `this route needs scope ${requirement.exact} (read does not open it)`, {
          extra: { scope: requirement.exact },
        });
      }
      return requirement.exact;
    }
    const scope = typeof requirement === 'function' ? requirement(req.params) : (requirement as string);
    if (!scopeAllows(principal.scopes, scope, req.method)) {
      throw new GatewayError('scope_required', `this route needs scope ${scope}`, { extra: { scope } });
    }
    return scope;
  }
  return authorize;
}
