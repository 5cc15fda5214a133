/**
 * The path rule: the one function that turns a client-named path into a place under a run's
 * workspace or one of its mounts (DESIGN invariant 4). Lexical checks first (path traversal and its
 * encodings), then the real path of the deepest existing ancestor must stay inside the root
 * (symbolic links pointing out). Opening what it resolved is scoped-fs.ts's job.
 */
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { GatewayError } from '../../errors.js';

/** A directory clients may reach: the run's workspace or an operator mount. `hostPath` is a real path. */
export interface ScopeRoot {
  /** `workspace` or `mount:<name>` (what audit entries and errors may show). */
  label: string;
  hostPath: string;
  readOnly: boolean;
  mount?: string;
  /** A run's workspace: the principal that created the run (its runs share tools.maxBytesPerToken). */
  owner?: string;
}

export interface Roots {
  workspace: ScopeRoot;
  mounts: ReadonlyMap<string, ScopeRoot>;
}

export interface ParsedPath {
  /** The mount named by a `mount:<name>/` prefix, or null for the workspace. */
  mount: string | null;
  /** Normalised segments below the root: no `.`, no `..`, none empty. */
  segments: string[];
  /**
   * The client's path ends in `/`, `/.` or `/..`: it names a directory (POSIX 4.13: a pathname
   * with a trailing slash resolves only to a directory). `a.txt/` never reaches the file a.txt.
   */
  directory: boolean;
}

export interface ResolvedPath {
  root: ScopeRoot;
  /** The client's path, normalised (`dir/../a` -> `a`); what replies may echo. */
  relative: string;
  /** Segments below `root.hostPath` with symbolic links of existing ancestors resolved. */
  realSegments: string[];
  /** root.hostPath joined with realSegments. Never shown to clients. */
  hostPath: string;
  readOnly: boolean;
  /** The client's path names a directory (trailing `/`, `/.`, `/..`): see refuseNonDirectory. */
  directory: boolean;
  /**
   * Ancestors of the last segment that did not exist when the path was resolved: the directories a
   * write here creates (the workspace quota charges them before anything is created).
   */
  missingParents: number;
}

export type PathIntent = 'read' | 'write';

export interface ResolveOptions {
  /**
   * Resolve a symbolic link at the last segment (default true). fs.move and fs.delete act on the
   * link itself (false): unlinking or renaming a link never touches its target.
   */
  followLeaf?: boolean;
  /**
   * The tool reads or writes a file at this path (fs.read, fs.write): a path that names a
   * directory (`a.txt/`, `a.txt/.`, `a.txt//`) is refused before the file system is touched.
   */
  file?: boolean;
}

export const MAX_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;
const MOUNT_PREFIX = 'mount:';
const MOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** NUL truncates paths in C APIs; newlines and other controls forge log lines and confuse tools. */
const CONTROL = /[\u0000-\u001f\u007f]/;
/** `file:`, `http:`, `c:`: a URL or a device, not a relative path. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const DRIVE = /^[A-Za-z]:/;
const PERCENT = /%([0-9A-Fa-f]{2})|%[uU]([0-9A-Fa-f]{4})/g;

function invalid(detail: string): never {
  throw new GatewayError('path_invalid', detail);
}

/**
 * Percent-encoding smuggling: a layer that decodes (a proxy, a service, a script) would see
 * another path than the one checked here. Paths are never decoded for use; they are decoded only
 * to look for an encoded dot, separator, `%` (double encoding), control or non-ASCII byte (overlong
 * UTF-8 such as `%c0%ae`), repeatedly, so `%252e` and `%%32%65` are caught too.
 */
function refuseEncodedSeparators(path: string): void {
  let s = path;
  for (let round = 0; round < 4 && s.includes('%'); round++) {
    let changed = false;
    s = s.replace(PERCENT, (_m, hex2: string | undefined, hex4: string | undefined) => {
      const code = Number.parseInt((hex2 ?? hex4) as string, 16);
      if (code < 0x20 || code === 0x7f || code >= 0x80 || code === 0x2e || code === 0x2f || code === 0x5c || code === 0x25) {
        invalid('percent-encoded dots, separators, % signs and non-ASCII bytes are refused (paths are never decoded)');
      }
      changed = true;
      return String.fromCharCode(code);
    });
    if (!changed) break;
  }
}

/** Unicode look-alikes: `．．／` is `../` after NFKC normalisation, which some layers apply. */
function refuseLookAlikes(segment: string): void {
  const n = segment.normalize('NFKC');
  if (n === segment) return;
  if (n === '.' || n === '..' || n.includes('/') || n.includes('\\') || CONTROL.test(n)) {
    invalid('a path segment normalises (NFKC) to a dot segment or a separator');
  }
}

/**
 * The lexical half of the rule. Refused with 400 path_invalid: non-strings, empty, over-long,
 * NUL and controls, backslashes (Windows separators, UNC `\\server`, `\\?\` and `\\.\` device
 * paths), encoded separators, absolute paths, `~`, drive letters, URL-like prefixes, look-alikes,
 * and `..` that would leave the root. `a/./b`, `a//b` (empty segments, as POSIX reads them) and
 * `d/../f` that stay inside are normalised. `mount:<name>/rest` addresses a mount.
 */
export function parseClientPath(input: unknown): ParsedPath {
  if (typeof input !== 'string') invalid('a path must be a string');
  if (input.length === 0) invalid('the path is empty (use "." for the root)');
  if (Buffer.byteLength(input) > MAX_PATH_BYTES) invalid(`the path is over ${MAX_PATH_BYTES} bytes`);
  if (CONTROL.test(input)) invalid('NUL and control characters are refused in paths');
  if (input.includes('\\')) invalid('backslashes are refused in paths (use /); UNC and device paths are never reachable');
  refuseEncodedSeparators(input);
  if (input.startsWith('/')) invalid("absolute paths are refused: paths are relative to the run's workspace or to mount:<name>/");
  if (input.startsWith('~')) invalid("~ (home directories) is refused: paths are relative to the run's workspace");
  if (DRIVE.test(input)) invalid("drive letters are refused: paths are relative to the run's workspace");

  let mount: string | null = null;
  let rest = input;
  if (input.startsWith(MOUNT_PREFIX)) {
    const slash = input.indexOf('/');
    const name = slash < 0 ? input.slice(MOUNT_PREFIX.length) : input.slice(MOUNT_PREFIX.length, slash);
    if (!MOUNT_NAME.test(name)) invalid('mount:<name>/ needs a mount name (lowercase letters, digits, . _ -)');
    mount = name;
    rest = slash < 0 ? '' : input.slice(slash + 1);
  } else if (SCHEME.test(input)) {
    invalid('URL-like prefixes (scheme:) are refused; only mount:<name>/ is understood');
  }

  const segments: string[] = [];
  const parts = rest === '' ? [] : rest.split('/');
  const last = parts[parts.length - 1];
  for (const seg of parts) {
    // POSIX (4.13 pathname resolution): repeated slashes are one slash, so `a//b` is `a/b` and
    // `dir/` is `dir`, marked as naming a directory (`directory`). A leading slash was refused
    // above: an empty segment never makes a path absolute.
    if (seg === '') continue;
    if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) invalid(`a path segment is over ${MAX_SEGMENT_BYTES} bytes`);
    refuseLookAlikes(seg);
    if (seg === '.') continue;
    if (seg === '..') {
      // Path traversal: `..` may step back only over segments this path itself went down.
      if (segments.length === 0) invalid('.. would leave the root');
      segments.pop();
      continue;
    }
    segments.push(seg);
  }
  if (mount === null && segments.length > 0 && SCHEME.test(segments[0] as string)) {
    invalid('URL-like prefixes (scheme:) are refused; only mount:<name>/ is understood');
  }
  return { mount, segments, directory: last === '' || last === '.' || last === '..' };
}

/** The normalised client form of a parsed path (`.`, `a/b`, `mount:docs`, `mount:docs/a`). */
export function displayPath(parsed: ParsedPath): string {
  const rest = parsed.segments.join('/');
  if (parsed.mount === null) return rest === '' ? '.' : rest;
  return rest === '' ? `mount:${parsed.mount}` : `mount:${parsed.mount}/${rest}`;
}

export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function outside(detail: string): never {
  throw new GatewayError('path_outside_workspace', detail);
}

/** The root a parsed path names; a mount the run does not include is outside its reach. */
export function rootOf(roots: Roots, parsed: ParsedPath): ScopeRoot {
  if (parsed.mount === null) return roots.workspace;
  const root = roots.mounts.get(parsed.mount);
  if (!root) outside(`this run does not include mount ${JSON.stringify(parsed.mount)}`);
  return root;
}

/** Real path of `path`, or null if it does not exist (or a segment is not a directory). */
function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // A symbolic link whose target is missing: refuse rather than guess where it would lead.
      let isLink = false;
      try {
        isLink = lstatSync(path).isSymbolicLink();
      } catch {
        /* the path itself is missing */
      }
      if (isLink) outside('a symbolic link on the path cannot be resolved');
      return null;
    }
    if (code === 'ELOOP') outside('a symbolic link loop on the path');
    if (code === 'EACCES') throw new GatewayError('tool_failed', 'permission denied on the path', { extra: { reason: 'permission_denied' } });
    if (code === 'ENAMETOOLONG') invalid('the path, its links resolved, is longer than the system allows');
    // A race with another process in the workspace: realpath read a component as a link and it was
    // a directory by the time it was read (EINVAL), or the like. Nothing was resolved: 409, not a 500.
    throw new GatewayError('path_changed', 'a directory or link on the path was replaced while it was resolved; retry', { cause: err });
  }
}

/**
 * The path rule. Resolution uses the real path of the deepest existing ancestor, so a symbolic link
 * inside the root that points outside is refused (403 path_outside_workspace); links that stay
 * inside are followed. Writes into a read-only mount are refused (403 path_read_only). Opening the
 * result must not follow a link swapped in after this check: use scoped-fs.ts.
 */
export function resolveClientPath(roots: Roots, clientPath: unknown, intent: PathIntent, opts: ResolveOptions = {}): ResolvedPath {
  const parsed = parseClientPath(clientPath);
  const root = rootOf(roots, parsed);
  if (intent === 'write' && root.readOnly) {
    throw new GatewayError('path_read_only', `${root.label} is read-only`);
  }
  // Trailing slash (`a.txt/`, `a.txt/.`, `a.txt//`): a directory, never the file a.txt (POSIX 4.13).
  if (opts.file && parsed.directory && parsed.segments.length > 0) {
    invalid(`${JSON.stringify(displayPath(parsed) + '/')} ends in a slash, which names a directory; this tool reads and writes files`);
  }
  const follow = opts.followLeaf ?? true;
  const segs = parsed.segments;
  const resolvable = follow || segs.length === 0 ? segs.length : segs.length - 1;
  let realSegments: string[] | null = null;
  let existing = 0;
  for (let i = resolvable; i >= 0; i--) {
    const real = realOrNull(join(root.hostPath, ...segs.slice(0, i)));
    if (real === null) continue;
    // Symlink escape: the deepest existing ancestor, links resolved, must still be inside the root.
    if (!isInside(root.hostPath, real)) outside(`the path leads outside ${root.label} through a symbolic link`);
    const rel = relative(root.hostPath, real);
    realSegments = [...(rel === '' ? [] : rel.split(sep)), ...segs.slice(i)];
    existing = i;
    break;
  }
  if (realSegments === null) throw new GatewayError('tool_failed', `${root.label} is missing`, { extra: { reason: 'io_error' } });
  return {
    root,
    relative: displayPath(parsed),
    realSegments,
    hostPath: join(root.hostPath, ...realSegments),
    readOnly: root.readOnly,
    directory: parsed.directory,
    missingParents: Math.max(0, segs.length - 1 - existing),
  };
}

/**
 * The other half of the trailing-slash rule, for what exists: a path that names a directory must
 * not act on a file, a link or anything else (400 path_invalid). Called with the entry as lstat saw
 * it through a pinned directory (scoped-fs.ts), so the check and the act see the same entry.
 */
export function refuseNonDirectory(r: ResolvedPath, st: Stats | null): void {
  if (r.directory && st !== null && !st.isDirectory()) {
    invalid(`${JSON.stringify(r.relative + '/')} ends in a slash, which names a directory, and ${JSON.stringify(r.relative)} is not one`);
  }
}
