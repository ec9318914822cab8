import { ensureThumbnail } from '../data/thumbnails.ts';
import type { Workspace } from '../data/workspace.ts';
import type { Db } from '../data/store.ts';
import { collectionRoot, imageLocation, imageLocationAt, type ImageLocation } from '../data/queries.ts';
import { checkFile, setFileStatus } from '../data/file-status.ts';
import { sha256File } from '../data/hashing.ts';
import { batchPhotoLocation } from './insights.ts';
import { decodeUrlPath, resolveInsideRoot, type PathRefusal } from './image-paths.ts';
import { servableImageType } from '../util/image-sniff.ts';

/**
 * The image routes shared by browser mode (`/image/<id>`, `/thumb/<id>`, `/file/<cid>/<rel>`,
 * `/batch-thumb/<jobId>/<resultId>`) and the Electron protocol (`plumage-image://image/<id>` …).
 * `route` is the raw, still URL-encoded path after the leading slash; the result is a real image
 * file inside a collection root (or, for a batch-caption result, inside the captioned folder, at
 * the path the job recorded), checked by extension and content (or, for thumbnails, the cached
 * JPEG made from one).
 * An imported photo (by id, or by the path it was imported from) whose file no longer holds the
 * imported bytes (replaced or damaged since) answers 410 and is marked changed in the database
 * (data/file-status.ts); one whose file is gone, 404 and missing; one found as imported, ok again.
 */
export type ImageRouteResult =
  | { ok: true; path: string; contentType: string }
  | { ok: false; status: 400 | 404 | 410; reason: PathRefusal | 'bad-route' | 'no-image' | 'not-image' | 'changed' };

const ID = /^[1-9][0-9]{0,15}$/;

/** `onFileStatus(id)`: the photo's stored file status changed (the window may re-read it). */
export async function resolveImageRoute(
  db: Db,
  ws: Workspace,
  route: string,
  onFileStatus: (imageId: number) => void = () => {},
): Promise<ImageRouteResult> {
  const slash = route.indexOf('/');
  const kind = slash < 0 ? route : route.slice(0, slash);
  const rest = slash < 0 ? '' : route.slice(slash + 1);
  if (kind === 'image' || kind === 'thumb') {
    if (!ID.test(rest)) return { ok: false, status: 400, reason: 'bad-route' };
    const loc = imageLocation(db, Number(rest));
    if (!loc) return { ok: false, status: 404, reason: 'no-image' };
    const image = await importedPhoto(db, loc, onFileStatus);
    if (!image.ok || kind === 'image') return image;
    // The hash names the cache file: accept only what the importer writes (hex sha256).
    if (!/^[0-9a-f]{16,128}$/.test(loc.contentHash)) return { ok: false, status: 404, reason: 'no-image' };
    return thumbnailOf(ws, image.path, loc.contentHash);
  }
  if (kind === 'batch-thumb') {
    // Ids only: the job id and the result's id; the path is the one the captioning job recorded.
    const [jobId, resultId, extra] = rest.split('/');
    if (!ID.test(jobId ?? '') || !ID.test(resultId ?? '') || extra !== undefined) return { ok: false, status: 400, reason: 'bad-route' };
    const loc = batchPhotoLocation(db, Number(jobId), Number(resultId));
    if (!loc) return { ok: false, status: 404, reason: 'no-image' };
    const image = servableImage(loc.folder, loc.relPath);
    if (!image.ok) return image;
    // Batch photos are not imported, so they have no stored hash: the file's bytes key the cache.
    let hash: string;
    try {
      hash = await sha256File(image.path);
    } catch {
      return { ok: false, status: 404, reason: 'missing' };
    }
    return thumbnailOf(ws, image.path, hash);
  }
  if (kind === 'file') {
    const slash2 = rest.indexOf('/');
    const cid = slash2 < 0 ? rest : rest.slice(0, slash2);
    if (!ID.test(cid) || slash2 < 0) return { ok: false, status: 400, reason: 'bad-route' };
    const root = collectionRoot(db, Number(cid));
    if (root === null) return { ok: false, status: 404, reason: 'no-image' };
    const rel = decodeUrlPath(rest.slice(slash2 + 1));
    if (rel === null) return { ok: false, status: 400, reason: 'malformed' };
    // A photo that was imported from this path is checked as by id; any other image file is served as is.
    const loc = imageLocationAt(db, Number(cid), rel);
    return loc ? importedPhoto(db, loc, onFileStatus) : servableImage(root, rel);
  }
  return { ok: false, status: 400, reason: 'bad-route' };
}

/**
 * An imported photo's file, if it still holds the imported bytes. Its stored file status follows
 * what is found (missing: 404, changed: 410, else ok), and `onFileStatus` hears when that changed.
 */
async function importedPhoto(db: Db, loc: ImageLocation, onFileStatus: (imageId: number) => void): Promise<ImageRouteResult> {
  const safe = resolveInsideRoot(loc.root, loc.relPath);
  if (!safe.ok) {
    if (safe.reason === 'missing' && setFileStatus(db, loc, 'missing') !== loc.fileStatus) onFileStatus(loc.id);
    return { ok: false, status: 404, reason: safe.reason };
  }
  // Labels and captions describe the imported bytes: other bytes there now are not this photo.
  const status = await checkFile(db, loc, safe.path);
  if (status !== loc.fileStatus) onFileStatus(loc.id);
  if (status === 'missing') return { ok: false, status: 404, reason: 'missing' };
  if (status === 'changed') return { ok: false, status: 410, reason: 'changed' };
  return servableImage(loc.root, loc.relPath);
}

/** The cached thumbnail of a servable image; 410 when the file no longer decodes. */
async function thumbnailOf(ws: Workspace, path: string, contentHash: string): Promise<ImageRouteResult> {
  try {
    return { ok: true, path: await ensureThumbnail(ws, path, contentHash), contentType: 'image/jpeg' };
  } catch {
    return { ok: false, status: 410, reason: 'changed' };
  }
}

/** A file inside the root that is an image by extension and by its first bytes. */
function servableImage(root: string, rel: string): ImageRouteResult {
  const safe = resolveInsideRoot(root, rel);
  if (!safe.ok) return { ok: false, status: 404, reason: safe.reason };
  const contentType = servableImageType(safe.path);
  if (!contentType) return { ok: false, status: 404, reason: 'not-image' };
  return { ok: true, path: safe.path, contentType };
}
