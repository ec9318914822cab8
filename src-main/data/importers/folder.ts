import { existsSync, readdirSync, type Dirent } from 'node:fs';
import { extname, join } from 'node:path';
import { emptyPlan, isDir, relPosix, requireFolder } from './common.ts';
import { IMAGE_EXTENSIONS, UNSUPPORTED_IMAGE_EXTENSIONS } from './probe.ts';
import type { ImportOptions, ImportPlan } from './types.ts';

/** Files that are never photos and never worth a report. */
const IGNORED = new Set(['thumbs.db', 'desktop.ini']);

/**
 * A plain folder: each sub-folder is a class (nested folders belong to their top-level class);
 * photos directly in the root are unlabelled. A sidecar `<image>.txt` (photo.jpg.txt or photo.txt)
 * holds captions, one per line. Symbolic links to folders are not followed (no loops); every file
 * that is not a photo or a sidecar is listed with a reason.
 */
export function planFolder(path: string, opts: ImportOptions): ImportPlan {
  const root = requireFolder(path);
  const plan = emptyPlan('folder', root, opts);
  const walk = (dir: string, cls: string | undefined) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      plan.errors.push({
        path: dir,
        reason: `folder unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const names = new Set(entries.map((e) => e.name));
    const sidecars = new Set<string>();
    const photos: Dirent[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.') || IGNORED.has(e.name.toLowerCase())) continue;
      const full = join(dir, e.name);
      const ext = extname(e.name).toLowerCase();
      if (e.isDirectory() && !IMAGE_EXTENSIONS.has(ext)) {
        walk(full, cls ?? e.name);
        continue;
      }
      if (IMAGE_EXTENSIONS.has(ext) || UNSUPPORTED_IMAGE_EXTENSIONS.has(ext) || e.isSymbolicLink())
        photos.push(e);
      else if (ext === '.txt') {
        if (!sidecars.has(e.name)) sidecars.add(e.name);
      } else
        plan.errors.push({
          path: full,
          reason: `not an image (unsupported file type ${ext || 'without extension'})`,
        });
    }
    const claimed = new Set<string>();
    for (const e of photos) {
      const full = join(dir, e.name);
      const ext = extname(e.name).toLowerCase();
      if (e.isSymbolicLink() && !IMAGE_EXTENSIONS.has(ext) && !UNSUPPORTED_IMAGE_EXTENSIONS.has(ext)) {
        // A link with a non-photo name: only a photo if it points at one (a link to a folder is not followed).
        if (isDir(full)) plan.errors.push({ path: full, reason: 'symbolic link to a folder: not followed' });
        else if (!existsSync(full))
          plan.errors.push({ path: full, reason: 'broken symbolic link or link loop' });
        else
          plan.errors.push({
            path: full,
            reason: `not an image (unsupported file type ${ext || 'without extension'})`,
          });
        continue;
      }
      const stem = e.name.slice(0, e.name.length - ext.length);
      const sidecar = names.has(`${e.name}.txt`)
        ? `${e.name}.txt`
        : names.has(`${stem}.txt`)
          ? `${stem}.txt`
          : undefined;
      if (sidecar) claimed.add(sidecar);
      if (cls !== undefined && !plan.classes.has(cls)) plan.classes.set(cls, { name: cls, sourceId: cls });
      plan.items.push({
        absPath: full,
        relPath: relPosix(root, full),
        classKey: cls,
        captionFile: sidecar ? join(dir, sidecar) : undefined,
      });
    }
    for (const s of sidecars) {
      if (!claimed.has(s))
        plan.errors.push({
          path: join(dir, s),
          reason: 'text file without a matching photo (not a caption sidecar)',
        });
    }
  };
  walk(root, undefined);
  return plan;
}
