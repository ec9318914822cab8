import { ensureThumbnail } from '../data/thumbnails.ts';
import type { Workspace } from '../data/workspace.ts';
import type { Db } from '../data/store.ts';
import { collectionRoot, imageLocation } from '../data/queries.ts';
import { contentTypeOf, decodeUrlPath, resolveInsideRoot, type PathRefusal } from './image-paths.ts';

/**
 * The three image routes shared by browser mode (`/image/<id>`, `/thumb/<id>`, `/file/<cid>/<rel>`)
 * and the Electron protocol (`plumage-image://image/<id>` …). `route` is the raw, still
 * URL-encoded path after the leading slash; the result is a real file inside a collection root
 * (or, for thumbnails, the cached JPEG made from such a file).
 */
export type ImageRouteResult =
  | { ok: true; path: string; contentType: string }
  | { ok: false; status: 400 | 404; reason: PathRefusal | 'bad-route' | 'no-image' };

const ID = /^[1-9][0-9]{0,15}$/;

export async function resolveImageRoute(db: Db, ws: Workspace, route: string): Promise<ImageRouteResult> {
  const slash = route.indexOf('/');
  const kind = slash < 0 ? route : route.slice(0, slash);
  const rest = slash < 0 ? '' : route.slice(slash + 1);
  if (kind === 'image' || kind === 'thumb') {
    if (!ID.test(rest)) return { ok: false, status: 400, reason: 'bad-route' };
    const loc = imageLocation(db, Number(rest));
    if (!loc) return { ok: false, status: 404, reason: 'no-image' };
    const safe = resolveInsideRoot(loc.root, loc.relPath);
    if (!safe.ok) return { ok: false, status: 404, reason: safe.reason };
    if (kind === 'image') return { ok: true, path: safe.path, contentType: contentTypeOf(safe.path) };
    // The hash names the cache file: accept only what the importer writes (hex sha256).
    if (!/^[0-9a-f]{16,128}$/.test(loc.contentHash)) return { ok: false, status: 404, reason: 'no-image' };
    const thumb = await ensureThumbnail(ws, safe.path, loc.contentHash);
    return { ok: true, path: thumb, contentType: 'image/jpeg' };
  }
  if (kind === 'file') {
    const slash2 = rest.indexOf('/');
    const cid = slash2 < 0 ? rest : rest.slice(0, slash2);
    if (!ID.test(cid) || slash2 < 0) return { ok: false, status: 400, reason: 'bad-route' };
    const root = collectionRoot(db, Number(cid));
    if (root === null) return { ok: false, status: 404, reason: 'no-image' };
    const rel = decodeUrlPath(rest.slice(slash2 + 1));
    if (rel === null) return { ok: false, status: 400, reason: 'malformed' };
    const safe = resolveInsideRoot(root, rel);
    if (!safe.ok) return { ok: false, status: 404, reason: safe.reason };
    return { ok: true, path: safe.path, contentType: contentTypeOf(safe.path) };
  }
  return { ok: false, status: 400, reason: 'bad-route' };
}
