import { readdirSync, statSync, type Dirent } from 'node:fs';
import { extname, isAbsolute, join } from 'node:path';
import type { PathCheck } from '../../shared/types.ts';
import { IMAGE_EXTENSIONS } from '../data/importers/probe.ts';
import { PlumageError } from '../util/errors.ts';

/**
 * What a typed path would give an import or a batch caption, answered while the person types
 * (`paths:check`): refused by the file-access policy, missing, the wrong kind (a file where a
 * folder is needed), unreadable, or found — with how many photos a folder holds. The policy is
 * asked first, so a refused place is never looked at. The count is bounded (entries and time),
 * so a huge tree answers quickly with "at least N"; symbolic links are not followed.
 */

/** Walk limits: enough to count a large collection, small enough to answer while typing. */
const MAX_ENTRIES = 200_000;
const MAX_MS = 1500;

export function checkPath(
  path: string,
  expect: 'folder' | 'file',
  policy: (path: string) => string,
  now: () => number = Date.now,
): PathCheck {
  if (!isAbsolute(path)) return { status: 'relative', images: null, more: false, reason: null };
  let resolved: string;
  try {
    resolved = policy(path);
  } catch (e) {
    if (e instanceof PlumageError) return { status: 'refused', images: null, more: false, reason: e.message };
    throw e;
  }
  let isDir: boolean;
  try {
    isDir = statSync(resolved).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? { status: 'missing', images: null, more: false, reason: null }
      : { status: 'unreadable', images: null, more: false, reason: code ?? null };
  }
  if (expect === 'file') return { status: isDir ? 'not-file' : 'ok', images: null, more: false, reason: null };
  if (!isDir) return { status: 'not-folder', images: null, more: false, reason: null };
  try {
    readdirSync(resolved);
  } catch (e) {
    return { status: 'unreadable', images: null, more: false, reason: (e as NodeJS.ErrnoException).code ?? null };
  }
  const { images, more } = countImages(resolved, now);
  return { status: 'ok', images, more, reason: null };
}

/** Photos (by extension) under a folder, hidden entries skipped, stopping at the walk limits. */
function countImages(root: string, now: () => number): { images: number; more: boolean } {
  const t0 = now();
  let images = 0;
  let entries = 0;
  const stack = [root];
  while (stack.length) {
    if (entries >= MAX_ENTRIES || now() - t0 > MAX_MS) return { images, more: true };
    const dir = stack.pop()!;
    let list: Dirent[];
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // an unreadable sub-folder: the import reports it; the count goes on
    }
    for (const e of list) {
      entries++;
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) stack.push(join(dir, e.name));
      else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) images++;
    }
  }
  return { images, more: false };
}
