import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Workspace } from './workspace.ts';

/** Longest side of a gallery thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 256;

/** Where the thumbnail of a given content hash lives (two-level fan-out keeps folders small). */
export function thumbnailPath(ws: Workspace, contentHash: string): string {
  return join(ws.thumbnails, contentHash.slice(0, 2), `${contentHash}.jpg`);
}

/**
 * Returns the cached JPEG thumbnail of an image, creating it on first use. Keyed by content hash,
 * so an edited file gets a new thumbnail and identical files share one. Written to a temporary
 * name and renamed, so a crash or a concurrent request never leaves a half-written file.
 */
export async function ensureThumbnail(
  ws: Workspace,
  imagePath: string,
  contentHash: string,
): Promise<string> {
  const out = thumbnailPath(ws, contentHash);
  if (existsSync(out)) return out;
  mkdirSync(join(ws.thumbnails, contentHash.slice(0, 2)), { recursive: true });
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await sharp(imagePath)
    .rotate() // honour EXIF orientation
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 82 })
    .toFile(tmp);
  renameSync(tmp, out);
  return out;
}
