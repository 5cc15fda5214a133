/**
 * Checks the workspace configuration at boot (before the socket opens): mounts are absolute,
 * existing directories with unique names, and the client-scope base exists when client scope is
 * on. Returns the roots with their real paths. Reads the file system; writes nothing.
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { GatewayError } from '../../errors.js';
import { isInside, type ScopeRoot } from './scope.js';

export interface MountConfig {
  name: string;
  path: string;
  readOnly: boolean;
}

export interface WorkspaceOptions {
  mounts: ReadonlyMap<string, ScopeRoot>;
  /** Root under which clients may choose their runs' roots; null when client scope is off. */
  clientScopeBase: ScopeRoot | null;
}

function existingDir(path: string, what: string): string {
  if (!isAbsolute(path)) throw new GatewayError('config_invalid', `${what} must be an absolute path`);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new GatewayError('config_invalid', `${what} ${path} does not exist (${(err as NodeJS.ErrnoException).code ?? 'error'}); create it or fix the path`);
  }
  if (!statSync(real).isDirectory()) throw new GatewayError('config_invalid', `${what} ${path} is not a directory`);
  return real;
}

/** Real path of a directory that may not exist yet (the data dir before first boot). */
function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPathOf(parent), basename(path));
  }
}

/**
 * Privilege escalation through a mount: a root that holds the data dir reaches the admin token,
 * the keys and the database; a root inside it reaches other runs' workspaces.
 */
function refuseOverlap(real: string, dataDir: string, what: string): void {
  if (isInside(real, dataDir) || isInside(dataDir, real)) {
    throw new GatewayError(
      'config_unsafe',
      `refusing to boot: ${what} overlaps the data dir ${dataDir} (tokens, keys, other runs' workspaces); choose a directory outside it`,
    );
  }
}

export function checkWorkspaceOptions(config: {
  dataDir: string;
  mounts: readonly MountConfig[];
  workspaces: { allowClientScope: boolean; clientScopeBase?: string | undefined };
}): WorkspaceOptions {
  const dataDir = realPathOf(config.dataDir);
  const mounts = new Map<string, ScopeRoot>();
  for (const m of config.mounts) {
    if (mounts.has(m.name)) throw new GatewayError('config_invalid', `mounts: the name ${JSON.stringify(m.name)} is used twice`);
    const real = existingDir(m.path, `mounts[${JSON.stringify(m.name)}].path`);
    refuseOverlap(real, dataDir, `mount ${JSON.stringify(m.name)}`);
    mounts.set(m.name, { label: `mount:${m.name}`, hostPath: real, readOnly: m.readOnly, mount: m.name });
  }
  let clientScopeBase: ScopeRoot | null = null;
  if (config.workspaces.allowClientScope) {
    const base = config.workspaces.clientScopeBase;
    if (base === undefined) {
      throw new GatewayError(
        'config_invalid',
        'workspaces.allowClientScope needs workspaces.clientScopeBase (MOAT_WORKSPACES_CLIENT_SCOPE_BASE), the directory clients choose roots under',
      );
    }
    const real = existingDir(base, 'workspaces.clientScopeBase');
    if (real === '/') throw new GatewayError('config_invalid', 'workspaces.clientScopeBase cannot be / (the whole host)');
    refuseOverlap(real, dataDir, 'workspaces.clientScopeBase');
    clientScopeBase = { label: 'workspaces.clientScopeBase', hostPath: real, readOnly: false };
  }
  return { mounts, clientScopeBase };
}
