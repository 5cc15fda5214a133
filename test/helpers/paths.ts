/** Tables of client paths for the path rule: hostile spellings that must be refused, and legitimate ones that must work. */

export interface Hostile {
  path: string;
  why: string;
}

/** Every one of these is refused with 400 path_invalid before the file system is touched. */
export const HOSTILE_PATHS: Hostile[] = [
  // Plain traversal
  { path: '..', why: 'parent of the root' },
  { path: '../', why: 'parent with a trailing slash' },
  { path: '../etc/passwd', why: 'classic traversal' },
  { path: '../../../../../../etc/passwd', why: 'deep traversal' },
  { path: 'a/../..', why: 'down one, up two' },
  { path: 'a/../../etc', why: 'down one, up two, across' },
  { path: './../x', why: 'dot then parent' },
  { path: 'dir/./../../x', why: 'dot segments hiding a parent' },
  { path: '.././.././', why: 'alternating dot segments' },
  { path: 'a/b/../../../x', why: 'one parent too many' },
  // Absolute and home
  { path: '/etc/passwd', why: 'absolute' },
  { path: '//etc/passwd', why: 'double-slash absolute' },
  { path: '///etc', why: 'triple-slash absolute' },
  { path: '/proc/self/root/etc/passwd', why: 'proc root' },
  { path: '/dev/sda', why: 'device node' },
  { path: '~', why: 'home' },
  { path: '~/.ssh/id_ed25519', why: 'home key' },
  { path: '~root/.ssh', why: "another user's home" },
  // Windows shapes
  { path: '..\\..\\windows', why: 'backslash traversal' },
  { path: 'a\\b', why: 'backslash separator' },
  { path: 'C:\\Windows\\win.ini', why: 'drive letter with backslashes' },
  { path: 'C:/Windows/win.ini', why: 'drive letter with slashes' },
  { path: 'c:', why: 'bare drive' },
  { path: '\\\\server\\share', why: 'UNC' },
  { path: '\\\\?\\C:\\', why: 'Win32 device namespace' },
  { path: '\\\\.\\PhysicalDrive0', why: 'Win32 device' },
  // NUL and controls
  { path: 'a\u0000b', why: 'NUL byte' },
  { path: 'file.txt\u0000.png', why: 'NUL extension truncation' },
  { path: 'a\nb', why: 'newline' },
  { path: 'a\rb', why: 'carriage return' },
  { path: '\t', why: 'tab' },
  { path: 'a\u007fb', why: 'DEL' },
  // Percent-encoding
  { path: '%2e%2e/etc/passwd', why: 'encoded dots' },
  { path: '%2E%2E%2Fetc', why: 'upper-case encoded dots and slash' },
  { path: '..%2fetc', why: 'encoded slash' },
  { path: '..%2Fetc', why: 'encoded slash (upper case)' },
  { path: '..%5cetc', why: 'encoded backslash' },
  { path: 'a%00b', why: 'encoded NUL' },
  { path: '%252e%252e/etc', why: 'double-encoded dots' },
  { path: '%25252e%25252e', why: 'triple-encoded dots' },
  { path: '%%32%65%%32%65/etc', why: 'nested encoding of %2e' },
  { path: '..%c0%afetc', why: 'overlong UTF-8 slash' },
  { path: '%c0%ae%c0%ae/etc', why: 'overlong UTF-8 dots' },
  { path: '%e0%80%ae%e0%80%ae/etc', why: 'three-byte overlong dots' },
  { path: '%u002e%u002e/etc', why: 'IIS %u encoding' },
  { path: 'a%2f..%2f..%2fetc', why: 'encoded separators around parents' },
  { path: '%2f', why: 'lone encoded slash' },
  { path: '%0a', why: 'encoded newline' },
  // Unicode look-alikes (NFKC)
  { path: '\uff0e\uff0e/etc', why: 'fullwidth dots' },
  { path: '..\uff0fetc', why: 'fullwidth solidus' },
  { path: '\u2025/etc', why: 'two-dot leader' },
  { path: '\ufe52\ufe52/etc', why: 'small full stops' },
  { path: '..\uff3cetc', why: 'fullwidth backslash' },
  // URL-like and scheme prefixes
  { path: 'file:///etc/passwd', why: 'file URL' },
  { path: 'http://169.254.169.254/latest', why: 'metadata URL' },
  { path: 'file:etc/passwd', why: 'scheme without slashes' },
  // Mounts
  { path: 'mount:', why: 'mount without a name' },
  { path: 'mount:../x', why: 'mount name traversal' },
  { path: 'mount:Docs/x', why: 'mount name in upper case' },
  { path: 'mount:docs/../../etc', why: 'traversal out of a mount' },
  { path: 'mount:docs/..', why: 'parent of a mount' },
  // Shapes
  { path: '', why: 'empty' },
  { path: 'a//../..', why: 'an empty segment hiding a parent too many' },
  { path: 'a//..//..//etc', why: 'empty segments around parents' },
  { path: './/..', why: 'dot, empty segment, parent' },
  { path: 'a//%2e%2e', why: 'empty segment then encoded dots' },
  { path: 'a//%2f/b', why: 'empty segment then an encoded slash' },
  { path: 'mount:docs//..', why: 'empty segment then the parent of a mount' },
  { path: 'mount:docs//../../etc', why: 'empty segment then traversal out of a mount' },
  { path: 'a/\u0000/b', why: 'NUL segment' },
  { path: 'x'.repeat(256), why: 'segment over 255 bytes' },
  { path: 'a/'.repeat(600), why: 'over 1024 bytes' },
  { path: '\u00e9'.repeat(128) + 'x', why: 'segment over 255 bytes in UTF-8' },
];

/** Legitimate paths (relative to a run's workspace) that must be written and read back. */
export const LEGIT_PATHS: Array<{ path: string; normalised: string }> = [
  { path: 'a.txt', normalised: 'a.txt' },
  { path: 'dir/a.txt', normalised: 'dir/a.txt' },
  { path: './b.txt', normalised: 'b.txt' },
  { path: 'dir/./c.txt', normalised: 'dir/c.txt' },
  { path: 'dir/../d.txt', normalised: 'd.txt' },
  { path: 'x/y/z/../../w.txt', normalised: 'x/w.txt' },
  { path: 'a b.txt', normalised: 'a b.txt' },
  { path: 'café.txt', normalised: 'café.txt' },
  { path: '日本語/ファイル.txt', normalised: '日本語/ファイル.txt' },
  { path: '.hidden', normalised: '.hidden' },
  { path: '...', normalised: '...' },
  { path: '..foo', normalised: '..foo' },
  { path: 'foo..', normalised: 'foo..' },
  { path: 'report%20final.txt', normalised: 'report%20final.txt' },
  { path: '50%off.txt', normalised: '50%off.txt' },
  { path: 'deep/er/than/you/think/file.md', normalised: 'deep/er/than/you/think/file.md' },
  { path: 'y'.repeat(255), normalised: 'y'.repeat(255) },
  { path: 'notes-2026.11.23.txt', normalised: 'notes-2026.11.23.txt' },
  // Empty segments are read as POSIX does: `a//b` is `a/b`.
  { path: 'e//f.txt', normalised: 'e/f.txt' },
  { path: 'g///h//i.txt', normalised: 'g/h/i.txt' },
  { path: './/j.txt', normalised: 'j.txt' },
  { path: 'k//..//l.txt', normalised: 'l.txt' },
];
