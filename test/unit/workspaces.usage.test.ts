/**
 * The workspace quota's ledger on a real directory: the first use walks it (links counted as links,
 * never followed), room held by a reservation is not given twice before it settles (what keeps
 * parallel changes from sharing the last free space), and the quota is read at each use.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, fileBytes, WorkspaceUsage } from '../../src/domain/workspaces/usage.js';
import type { ScopeRoot } from '../../src/domain/workspaces/scope.js';
import { tmpDir } from '../helpers/gateway.js';

const B = BLOCK_BYTES;
/** A workspace quota, and no quota per token. */
const only = (workspace: () => number) => ({ workspace, perOwner: () => Number.MAX_SAFE_INTEGER });
const rootAt = (hostPath: string): ScopeRoot => ({ label: 'the workspace', hostPath: realpathSync(hostPath), readOnly: false });
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return null;
};

describe('fileBytes', () => {
  it.each([
    [0, B],
    [1, B],
    [B, B],
    [B + 1, 2 * B],
    [10 * B, 10 * B],
  ])('a file of %i bytes costs %i (whole blocks, at least one)', (size, cost) => {
    expect(fileBytes(size)).toBe(cost);
  });
});

describe('WorkspaceUsage', () => {
  it('walks a workspace at first use: files in blocks, directories and links one block each, link targets never', async () => {
    const dir = tmpDir('moat-usage-');
    const outside = tmpDir('moat-usage-out-');
    writeFileSync(join(outside, 'huge.bin'), Buffer.alloc(50 * B));
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'deeper', 'a.bin'), Buffer.alloc(B + 1));
    writeFileSync(join(dir, 'empty'), '');
    symlinkSync(join(outside, 'huge.bin'), join(dir, 'link-out'));
    symlinkSync(outside, join(dir, 'dir-link-out'));
    const usage = new WorkspaceUsage(only(() => 100 * B));
    // sub, deeper: 2; a.bin: 2; empty: 1; two links: 2.
    expect(await usage.used(rootAt(dir))).toBe(7 * B);
  });
  it('holds reserved room until it settles: a second change cannot take the same free space', async () => {
    const root = rootAt(tmpDir('moat-usage-'));
    const usage = new WorkspaceUsage(only(() => 4 * B));
    await usage.ready(root);
    const first = usage.reserve(root, 3 * B, 'first');
    expect(codeOf(() => usage.reserve(root, 2 * B, 'second'))).toBe('workspace_full');
    const third = usage.reserve(root, B, 'third');
    first.release();
    const fourth = usage.reserve(root, 2 * B, 'fourth');
    third.commit();
    fourth.commit();
    expect(await usage.used(root)).toBe(3 * B);
    expect(codeOf(() => usage.reserve(root, 2 * B, 'fifth'))).toBe('workspace_full');
  });
  it('settles once: a release after a commit changes nothing', async () => {
    const root = rootAt(tmpDir('moat-usage-'));
    const usage = new WorkspaceUsage(only(() => 4 * B));
    await usage.ready(root);
    const r = usage.reserve(root, 4 * B, 'all');
    r.commit();
    r.release();
    r.commit();
    expect(await usage.used(root)).toBe(4 * B);
    expect(codeOf(() => usage.reserve(root, B, 'more'))).toBe('workspace_full');
  });
  it('admits shrinking changes in a full workspace, and reads the quota at each use', async () => {
    const root = rootAt(tmpDir('moat-usage-'));
    let quota = 2 * B;
    const usage = new WorkspaceUsage(only(() => quota));
    await usage.ready(root);
    usage.reserve(root, 2 * B, 'fill').commit();
    usage.reserve(root, -B, 'shrink').commit();
    expect(await usage.used(root)).toBe(B);
    quota = B;
    expect(codeOf(() => usage.reserve(root, 1, 'grow'))).toBe('workspace_full');
    quota = 10 * B;
    expect(codeOf(() => usage.reserve(root, 5 * B, 'grow'))).toBeNull();
  });
  it('counts again after markStale (a command wrote), and refuseOver refuses only when over', async () => {
    const dir = tmpDir('moat-usage-');
    const root = rootAt(dir);
    const usage = new WorkspaceUsage(only(() => 2 * B));
    expect(await usage.used(root)).toBe(0);
    writeFileSync(join(dir, 'by-a-command'), Buffer.alloc(2 * B));
    expect(await usage.used(root)).toBe(0); // not seen until told
    usage.markStale(root);
    await usage.ready(root);
    expect(codeOf(() => usage.refuseOver(root, 'exec'))).toBeNull(); // exactly full is not over
    writeFileSync(join(dir, 'more'), 'x');
    usage.markStale(root);
    await usage.ready(root);
    expect(codeOf(() => usage.refuseOver(root, 'exec'))).toBe('workspace_full');
  });
  it('walks once for changes that arrive together, and a command ending during a walk leaves it stale', async () => {
    const dir = tmpDir('moat-usage-');
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, `f${i}`), '');
    const root = rootAt(dir);
    const usage = new WorkspaceUsage(only(() => 1000 * B));
    const a = usage.ready(root);
    const b = usage.ready(root);
    usage.markStale(root); // a command ended while the walk ran
    await Promise.all([a, b]);
    expect(codeOf(() => usage.reserve(root, B, 'x').release())).toBeNull();
    writeFileSync(join(dir, 'late'), '');
    expect(await usage.used(root)).toBe(301 * B); // walked again: the ledger was not fresh
  });
  it('refuses to admit anything before the workspace is counted (a programming error, not a guess)', () => {
    const usage = new WorkspaceUsage(only(() => B));
    expect(() => usage.reserve(rootAt(tmpDir('moat-usage-')), 1, 'x')).toThrow(/before ready/);
  });
  it("counts the workspaces of one owner together, at the owner's first change, and forgets a deleted one", async () => {
    const dirs = [tmpDir('moat-usage-'), tmpDir('moat-usage-'), tmpDir('moat-usage-')];
    writeFileSync(join(dirs[0] as string, 'old'), Buffer.alloc(3 * B)); // written before this boot
    const roots = dirs.map((d) => ({ ...rootAt(d), owner: 'tok_a' }));
    const usage = new WorkspaceUsage({ workspace: () => 4 * B, perOwner: () => 6 * B });
    usage.setWorkspacesOf((owner) => (owner === 'tok_a' ? roots : []));
    const [a, b, c] = roots as [ScopeRoot, ScopeRoot, ScopeRoot];
    await usage.ready(b);
    usage.reserve(b, 3 * B, 'b').commit();
    await usage.ready(c);
    const refused = (() => {
      try {
        usage.reserve(c, B, 'c');
      } catch (err) {
        return err as { code: string; extra: Record<string, unknown> };
      }
      return null;
    })();
    expect(refused).toMatchObject({ code: 'workspace_full', extra: { quota: 'tools.maxBytesPerToken', usedBytes: 6 * B, limitBytes: 6 * B } });
    usage.forget(a.hostPath);
    expect(codeOf(() => usage.reserve(c, 3 * B, 'c').commit())).toBeNull();
    const other = { ...rootAt(tmpDir('moat-usage-')), owner: 'tok_b' };
    await usage.ready(other);
    expect(codeOf(() => usage.reserve(other, 4 * B, 'other').commit())).toBeNull();
  });
});
