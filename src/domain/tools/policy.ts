/**
 * Tool policy: which tools a client may invoke over HTTP. Low and medium risk tools are open,
 * high-risk ones (exec, fs.delete, writes into mounts) are closed unless `tools.allow` names them;
 * `tools.deny` closes any tool and wins over allow. Names are checked at construction.
 */
import { suggest } from '../../config/suggest.js';
import { GatewayError } from '../../errors.js';
import { MOUNT_WRITE, type Risk } from './types.js';

export interface ToolPolicyOptions {
  allow: readonly string[];
  deny: readonly string[];
}

export interface Decision {
  allowed: boolean;
  /** Why not (safe to show), when not allowed. */
  reason?: string;
}

export class ToolPolicy {
  private readonly allow: ReadonlySet<string>;
  private readonly deny: ReadonlySet<string>;

  /** `known`: every tool name (with its risk); unknown names in allow or deny are refused with a hint. */
  constructor(
    opts: ToolPolicyOptions,
    private readonly known: ReadonlyMap<string, Risk>,
  ) {
    const names = [...known.keys(), MOUNT_WRITE];
    for (const [key, list] of [
      ['tools.allow', opts.allow],
      ['tools.deny', opts.deny],
    ] as const) {
      for (const name of list) {
        if (names.includes(name)) continue;
        const hint = suggest(name, names);
        throw new GatewayError(
          'config_invalid',
          `${key}: unknown tool ${JSON.stringify(name)}${hint ? `, did you mean ${hint}?` : ''} (tools: ${names.join(', ')})`,
        );
      }
    }
    this.allow = new Set(opts.allow);
    this.deny = new Set(opts.deny);
  }

  /** Whether a tool may be invoked at all (before its arguments are looked at). */
  decide(tool: string): Decision {
    if (this.deny.has(tool)) return { allowed: false, reason: `${tool} is in tools.deny` };
    if (this.known.get(tool) === 'high' && !this.allow.has(tool)) {
      return { allowed: false, reason: `${tool} is high-risk and closed by default; the operator may add it to tools.allow (MOAT_TOOLS_ALLOW)` };
    }
    return { allowed: true };
  }

  /** Whether a call may write, move or delete in a (writable) mount. */
  decideMountWrite(): Decision {
    if (this.deny.has(MOUNT_WRITE)) return { allowed: false, reason: `${MOUNT_WRITE} is in tools.deny` };
    if (!this.allow.has(MOUNT_WRITE)) {
      return {
        allowed: false,
        reason: `writes into mounts are high-risk and closed by default; the operator may add ${MOUNT_WRITE} to tools.allow (MOAT_TOOLS_ALLOW)`,
      };
    }
    return { allowed: true };
  }

  /** High-risk tools the operator opened (logged and audited at boot: weakening leaves a trace). */
  openedHighRisk(): string[] {
    const high = [...this.known].filter(([, risk]) => risk === 'high').map(([name]) => name);
    return [...high, MOUNT_WRITE].filter((n) => this.allow.has(n) && !this.deny.has(n));
  }
}
