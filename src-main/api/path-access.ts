import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { PlumageError } from '../util/errors.ts';
import { systemFolderProblem } from './read-policy.ts';

/**
 * Which files the page (renderer) may make the main side read or write. The page is untrusted, so:
 *  - `capability` (the desktop app): folders to import or caption and files to write elsewhere than
 *    the workspace's `exports/` folder are chosen in a native dialog of the main process, which
 *    hands the page a one-time grant token (`grant:<hex>`) instead of a path it could invent;
 *  - `local` (browser mode, CLI, tests): folders to read may be typed, but never a system folder
 *    (read-policy.ts), and in browser mode only inside the workspace or a folder the user named on
 *    the command line that started the server (`--allow DIR`, `readDirs`); files are written only
 *    into `<home>/exports/` or into a folder named there with `--allow-export-dir`.
 * In both modes a bare file name (`captions.csv`) is written into `<home>/exports/`.
 */

export type PathUse = 'read' | 'write';

export interface PathAccessOptions {
  mode?: 'capability' | 'local';
  /** Extra folders writes may go to (local mode). */
  exportDirs?: string[];
  /**
   * Local mode: the folders (besides the workspace) typed reads must lie in; absent = any folder
   * that is not a system folder (an api embedded in a trusted process, tests).
   */
  readDirs?: string[];
}

const GRANT = /^grant:[0-9a-f]{48}$/;

function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** realpath of the deepest existing ancestor plus the rest, so a file that does not exist yet can be checked. */
function realish(path: string): string {
  let head = resolve(path);
  const rest: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    rest.unshift(head.slice(dirname(head).length).replace(/^[/\\]/, ''));
    head = dirname(head);
  }
  return join(realpathSync(head), ...rest);
}

export class PathAccess {
  readonly mode: 'capability' | 'local';
  readonly exportsDir: string;
  private readonly exportDirs: string[];
  private readonly readDirs: string[] | null;
  private readonly home: string;
  private readonly grants = new Map<string, { path: string; use: PathUse }>();

  constructor(home: string, opts: PathAccessOptions = {}) {
    this.mode = opts.mode ?? 'local';
    this.exportsDir = join(resolve(home), 'exports');
    this.exportDirs = (opts.exportDirs ?? []).map((d) => resolve(d));
    this.readDirs = opts.readDirs ? opts.readDirs.map((d) => resolve(d)) : null;
    this.home = resolve(home);
  }

  /** A one-time token for a path the user chose in a native dialog. */
  grant(path: string, use: PathUse): string {
    const token = `grant:${randomBytes(24).toString('hex')}`;
    this.grants.set(token, { path: resolve(path), use });
    return token;
  }

  /** A folder or file to read (import, batch caption). */
  readable(value: string): string {
    if (GRANT.test(value)) return this.take(value, 'read');
    if (this.mode === 'capability') throw refusal('choose the folder with the Choose… button (typed paths are not accepted)');
    const target = realish(value);
    const system = systemFolderProblem(target);
    if (system) throw refusal(`'${value}' ${system}`);
    if (this.readDirs && ![this.home, ...this.readDirs].some((d) => inside(realish(d), target))) {
      throw refusal(
        `'${value}' is outside the folders this window may read: put the photos in ${this.home}, or start plumage serve with --allow ${resolve(value)}`,
      );
    }
    return resolve(value);
  }

  /** A file to write (exports): a grant, a bare name in exports/, or a path inside an allowed folder. */
  writable(value: string): string {
    if (GRANT.test(value)) return this.take(value, 'write');
    if (!isAbsolute(value)) {
      if (value.split(/[/\\]/).some((s) => s === '..' || s === '')) throw refusal(`'${value}': name a file inside the exports folder`);
      return join(this.exportsDir, value);
    }
    const target = realish(value);
    const allowed = [this.exportsDir, ...(this.mode === 'local' ? this.exportDirs : [])];
    if (allowed.some((d) => inside(realish(d), target))) return target;
    throw refusal(
      this.mode === 'capability'
        ? 'choose where to save with the Save… button, or give a file name (saved in the exports folder)'
        : `exports go to ${this.exportsDir} (give a file name), or start plumage serve with --allow-export-dir DIR`,
    );
  }

  private take(token: string, use: PathUse): string {
    const g = this.grants.get(token);
    if (!g || g.use !== use) throw refusal('this choice has expired: choose the folder or file again');
    this.grants.delete(token);
    return g.path;
  }
}

function refusal(message: string): PlumageError {
  return new PlumageError('invalid_request', message);
}
