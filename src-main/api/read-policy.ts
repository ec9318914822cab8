import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

/**
 * Folders a typed path may never make Plumage read photos from: the operating system's own
 * folders (configuration, devices, programs, kernel state), and two folders too broad to be a
 * photo folder — a drive or filesystem root and the user's home folder itself (a sub-folder such
 * as ~/Pictures is fine). Checked on the real path, so a symbolic link does not get around it.
 */

const POSIX_SYSTEM = [
  '/etc',
  '/proc',
  '/sys',
  '/dev',
  '/boot',
  '/run',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/usr',
  '/var/lib',
  '/var/log',
  '/var/run',
  '/System',
  '/Library',
  '/private/etc',
  '/private/var/db',
];

const WINDOWS_SYSTEM = ['\\Windows', '\\Program Files', '\\Program Files (x86)', '\\ProgramData'];

function within(dir: string, path: string, windows: boolean): boolean {
  const sep = windows ? '\\' : '/';
  const [d, p] = windows ? [dir.toLowerCase(), path.toLowerCase()] : [dir, path];
  return p === d || p.startsWith(d.endsWith(sep) ? d : d + sep);
}

/**
 * Why `realPath` (absolute, symbolic links resolved) may not be read, in words that follow the
 * path in an error message, or null when it may. `platform` and `home` are parameters for tests.
 */
export function systemFolderProblem(
  realPath: string,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string | null {
  const windows = platform === 'win32';
  const path = windows ? win32 : posix;
  const full = path.resolve(realPath);
  const root = path.parse(full).root;
  const trim = (p: string) => p.replace(/[\\/]+$/, '');
  if (trim(full) === trim(root)) return 'is the root of a drive: choose the folder that holds the photos';
  const same = (a: string, b: string) => (windows ? a.toLowerCase() === b.toLowerCase() : a === b);
  if (same(trim(full), trim(path.resolve(home)))) return 'is your home folder itself: choose the folder that holds the photos (e.g. Pictures)';
  const system = windows ? WINDOWS_SYSTEM.map((d) => trim(root) + d) : POSIX_SYSTEM;
  if (system.some((d) => within(d, full, windows))) return 'is a system folder: Plumage does not read photos from it';
  return null;
}
