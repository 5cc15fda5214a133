/**
 * The hooks moat knows: the config file's `hooks` list and the ones registered through the API
 * (secrets sealed with a per-install key, context-bound to the hook's name). Secrets are
 * write-only: views say `set` or `unset`, and only the receiver reads them back.
 */
import type { Static } from '@sinclair/typebox';
import type { HookConfigSchema } from '../../config/sections/hooks.js';
import type { Action, VerifyScheme } from '../../api/hooks.js';
import { GatewayError } from '../../errors.js';
import { seal, unseal } from '../../crypto/seal.js';
import { standardWebhooksKey } from './verify/standard-webhooks.js';
import type { HookRow, HookStore } from '../../store/types.js';

export type HookSpec = Static<typeof HookConfigSchema>;

export interface HookDef {
  name: string;
  verify: VerifyScheme;
  action: Action;
  maxBodyBytes: number | null;
  source: 'config' | 'api';
}

export interface HookView {
  name: string;
  verify: VerifyScheme;
  secret: 'set' | 'unset';
  verifyToken?: 'set' | 'unset';
  action: Action;
  maxBodyBytes: number | null;
  source: 'config' | 'api';
  url: string;
  createdAt: string | null;
}

export interface HookRegistryOptions {
  store: HookStore;
  key: Buffer;
  declared: readonly HookSpec[];
  now?: () => number;
}

/** A secret the hook's scheme cannot use (checked at boot and registration, not per delivery). */
function secretProblem(spec: Pick<HookSpec, 'verify' | 'secret'>): string | undefined {
  if (spec.verify === 'standard-webhooks' && spec.secret !== undefined && standardWebhooksKey(Buffer.from(spec.secret, 'utf8')) === null) {
    return 'a standard-webhooks secret is whsec_ followed by base64 (as the sender shows it)';
  }
  return undefined;
}

export class HookRegistry {
  private readonly declared = new Map<string, HookSpec>();
  private readonly now: () => number;

  constructor(private readonly opts: HookRegistryOptions) {
    this.now = opts.now ?? Date.now;
    for (const h of opts.declared) this.declared.set(h.name, h);
  }

  /** Puts the config file's hooks of a live change in force (checked with check() first). */
  setDeclared(declared: readonly HookSpec[]): void {
    this.declared.clear();
    for (const h of declared) this.declared.set(h.name, h);
  }

  /** Boot checks: names unique in the config file. Returns warnings (hooks that refuse everything). */
  static check(declared: readonly HookSpec[]): string[] {
    const seen = new Set<string>();
    const warnings: string[] = [];
    for (const h of declared) {
      if (seen.has(h.name)) throw new GatewayError('config_invalid', `hooks: the name ${JSON.stringify(h.name)} is used twice`);
      seen.add(h.name);
      if (h.secret === undefined) warnings.push(`hook ${h.name} has no secret: every delivery to it is refused`);
      if (h.verifyToken !== undefined && h.verify !== 'whatsapp')
        throw new GatewayError('config_invalid', `hooks: ${h.name}: verifyToken is for verify "whatsapp" only`);
      const bad = secretProblem(h);
      if (bad) throw new GatewayError('config_invalid', `hooks: ${h.name}: ${bad}`);
    }
    return warnings;
  }

  get(name: string): HookDef | undefined {
    const d = this.declared.get(name);
    if (d) return { name, verify: d.verify, action: d.action, maxBodyBytes: d.maxBodyBytes ?? null, source: 'config' };
    const r = this.opts.store.get(name);
    return r ? { name, verify: r.verify as VerifyScheme, action: r.action as Action, maxBodyBytes: r.maxBodyBytes, source: 'api' } : undefined;
  }

  /** The signing secret, or null when none is configured (the receiver then refuses). */
  secretOf(name: string): Buffer | null {
    const d = this.declared.get(name);
    if (d) return d.secret === undefined ? null : Buffer.from(d.secret, 'utf8');
    const r = this.opts.store.get(name);
    return r?.secret ? unseal(this.opts.key, r.secret, `hook:${name}:secret`) : null;
  }

  verifyTokenOf(name: string): string | null {
    const d = this.declared.get(name);
    if (d) return d.verifyToken ?? null;
    const r = this.opts.store.get(name);
    return r?.verifyToken ? unseal(this.opts.key, r.verifyToken, `hook:${name}:verify-token`).toString('utf8') : null;
  }

  list(): HookView[] {
    const api = this.opts.store.list().filter((r) => !this.declared.has(r.name));
    return [...[...this.declared.values()].map((d) => this.fromSpec(d)), ...api.map((r) => this.fromRow(r))].sort((a, b) => a.name.localeCompare(b.name));
  }

  view(name: string): HookView {
    const d = this.declared.get(name);
    if (d) return this.fromSpec(d);
    const r = this.opts.store.get(name);
    if (!r) throw new GatewayError('hook_not_found', `no hook ${JSON.stringify(name)}`);
    return this.fromRow(r);
  }

  add(spec: HookSpec, createdBy: string | null): HookView {
    if (spec.verifyToken !== undefined && spec.verify !== 'whatsapp') throw new GatewayError('validation_failed', 'verifyToken is for verify "whatsapp" only');
    const bad = secretProblem(spec);
    if (bad) throw new GatewayError('validation_failed', bad);
    if (this.declared.has(spec.name)) throw new GatewayError('hook_exists', `hook ${spec.name} is declared in the config file`);
    const row: HookRow = {
      name: spec.name,
      verify: spec.verify,
      secret: spec.secret === undefined ? null : seal(this.opts.key, spec.secret, `hook:${spec.name}:secret`),
      verifyToken: spec.verifyToken === undefined ? null : seal(this.opts.key, spec.verifyToken, `hook:${spec.name}:verify-token`),
      action: spec.action,
      maxBodyBytes: spec.maxBodyBytes ?? null,
      createdAt: this.now(),
      createdBy,
    };
    if (!this.opts.store.insert(row)) throw new GatewayError('hook_exists', `hook ${spec.name} is already registered`);
    return this.fromRow(row);
  }

  remove(name: string): void {
    if (this.declared.has(name)) throw new GatewayError('hook_readonly', `hook ${name} is declared in the config file; remove it there`);
    if (!this.opts.store.delete(name)) throw new GatewayError('hook_not_found', `no hook ${JSON.stringify(name)}`);
  }

  private fromSpec(d: HookSpec): HookView {
    return {
      name: d.name,
      verify: d.verify,
      secret: d.secret === undefined ? 'unset' : 'set',
      ...(d.verify === 'whatsapp' ? { verifyToken: d.verifyToken === undefined ? ('unset' as const) : ('set' as const) } : {}),
      action: d.action,
      maxBodyBytes: d.maxBodyBytes ?? null,
      source: 'config',
      url: `/hooks/${d.name}`,
      createdAt: null,
    };
  }

  private fromRow(r: HookRow): HookView {
    return {
      name: r.name,
      verify: r.verify as VerifyScheme,
      secret: r.secret === null ? 'unset' : 'set',
      ...(r.verify === 'whatsapp' ? { verifyToken: r.verifyToken === null ? ('unset' as const) : ('set' as const) } : {}),
      action: r.action as Action,
      maxBodyBytes: r.maxBodyBytes,
      source: 'api',
      url: `/hooks/${r.name}`,
      createdAt: new Date(r.createdAt).toISOString(),
    };
  }
}
