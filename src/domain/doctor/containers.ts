/**
 * Doctor checks of the container engine behind `container` services: it answers, its socket is a
 * socket owned by root or moat's user and writable by no one else (the Engine API is root-equivalent),
 * and the options that put a container next to moat rather than behind it. Pure functions.
 */
import type { Check, Finding } from './types.js';

type Result = Omit<Finding, 'id'>;
const NONE = { severity: 'ok', finding: 'no container service is declared', fix: 'none needed' } as const;

const engine: Check = {
  id: 'containers.engine',
  needs: 'gateway',
  run(ctx): Result {
    const facts = ctx.gateway!.containers ?? null;
    if (facts === null) return NONE;
    if (!facts.reachable)
      return {
        severity: 'fail',
        finding: `container services cannot start: ${facts.error ?? 'the engine does not answer'}`,
        fix: 'start the engine, then `moat service start <name>`',
      };
    return {
      severity: 'ok',
      finding: `${facts.engine?.name ?? 'the engine'} ${facts.engine?.version ?? ''} answers at ${facts.endpoint} (API ${facts.engine?.apiVersion ?? '?'})`,
      fix: 'none needed',
    };
  },
};

const socket: Check = {
  id: 'containers.socket',
  needs: 'gateway',
  run(ctx): Result {
    const facts = ctx.gateway!.containers ?? null;
    if (facts === null) return NONE;
    const s = facts.socket;
    if (s === null) {
      if (facts.endpoint.startsWith('http')) {
        return {
          severity: 'warn',
          finding: `the Engine API is reached over TCP (${facts.endpoint}): every local user and process that can connect to it is root on this host`,
          fix: 'serve the engine on a unix socket (mode 0660, group of the moat user) and point supervisor.containers.socket at it',
        };
      }
      return { severity: 'ok', finding: `no socket at ${facts.endpoint} (see containers.engine)`, fix: 'none needed' };
    }
    if (!s.isSocket) return { severity: 'fail', finding: `${s.path} is not a unix socket`, fix: 'point supervisor.containers.socket at the engine socket' };
    const mode = s.mode.toString(8).padStart(4, '0');
    if ((s.mode & 0o002) !== 0) {
      return {
        severity: 'fail',
        finding: `${s.path} is writable by every local user (mode ${mode}): any of them is root through the engine`,
        fix: `chmod o-rwx ${s.path}`,
      };
    }
    const me = ctx.gateway!.uid ?? -1;
    if (s.uid !== 0 && s.uid !== me) {
      return {
        severity: 'warn',
        finding: `${s.path} belongs to uid ${s.uid}, neither root nor moat's user: whoever owns it decides what answers as the engine`,
        fix: "use the engine's own socket (root's, or moat's user's for a rootless engine)",
      };
    }
    return { severity: 'ok', finding: `${s.path}: uid ${s.uid}, gid ${s.gid}, mode ${mode} (not writable by others)`, fix: 'none needed' };
  },
};

const options: Check = {
  id: 'containers.options',
  needs: 'gateway',
  run(ctx): Result {
    const services = ctx.gateway!.config.services.filter((s) => s.kind === 'container');
    if (services.length === 0) return NONE;
    const host = services.filter((s) => s.network === 'host').map((s) => s.name);
    if (host.length > 0) {
      return {
        severity: 'warn',
        finding: `container service(s) on the host network: ${host.join(', ')}: each binds wherever its program chooses (often every interface), reachable around moat`,
        fix: 'remove `network: "host"` (the default bridge publishes the port on 127.0.0.1 only)',
      };
    }
    const gpus = services.filter((s) => s.gpus !== undefined).map((s) => s.name);
    const podman = /podman/i.test(ctx.gateway!.containers?.engine?.name ?? '');
    if (podman && gpus.length > 0) {
      return {
        severity: 'warn',
        finding: `${gpus.join(', ')} ask for GPUs, but Podman's Docker-compatible API ignores device requests (gpus)`,
        fix: 'on Podman give GPUs through CDI: `devices` with the CDI device nodes, or a [containers] devices entry in containers.conf (see docs/services.md)',
      };
    }
    return { severity: 'ok', finding: `${services.length} container service(s), ports published on 127.0.0.1 only`, fix: 'none needed' };
  },
};

export const containerChecks: readonly Check[] = [engine, socket, options];
