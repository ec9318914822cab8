import { realpathSync } from 'node:fs';
import { sep } from 'node:path';

/**
 * Checks that an imported photo can later be served from its collection: the image routes refuse
 * names with control characters or backslashes and files whose real path leaves the root, so such
 * photos are refused at import with a reason instead of being imported and then never shown.
 */

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const UNSERVABLE_NAME = /[\u0000-\u001f\u007f\\]/;

/** realpath of the collection root (or the root itself when it cannot be resolved). */
export function realRoot(root: string): string {
  try {
    return realpathSync(root);
  } catch {
    return root;
  }
}

/** Why the photo at `absPath` (relative path `relPath`) cannot be kept in the collection, or null. */
export function placementProblem(rootReal: string, absPath: string, relPath: string): string | null {
  if (UNSERVABLE_NAME.test(relPath))
    return 'file name contains a line break, control character or backslash: rename the file to import it';
  let real: string;
  try {
    real = realpathSync(absPath);
  } catch {
    return null; // missing, dangling or a loop: the probe reports it
  }
  const prefix = rootReal.endsWith(sep) ? rootReal : rootReal + sep;
  return real.startsWith(prefix) ? null : 'symbolic link to a file outside the imported folder: refused';
}
