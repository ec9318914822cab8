import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addCaption, setLabel } from '../annotations.ts';
import { collectionTotals, ensureClass, getOrCreateCollection } from '../collections.ts';
import { ensureDefaultSplit } from '../splits.ts';
import type { Db } from '../store.ts';
import { ensureThumbnail } from '../thumbnails.ts';
import type { Workspace } from '../workspace.ts';
import { placementProblem, realRoot } from './placement.ts';
import { probeImage, type ProbeResult } from './probe.ts';
import { parseCaptionFile } from './text.ts';
import type { ImportError, ImportItem, ImportOptions, ImportPlan, ImportResult } from './types.ts';

/** At most this many listed-but-absent files are named in `errors`; the rest are summarised in one line. */
export const MISSING_SAMPLE = 20;

interface Prepared {
  probe: ProbeResult;
  captions?: string[];
  /** Why the caption file, or some of its lines, were not imported. */
  captionErrors?: ImportError[];
  thumbnailError?: ImportError;
}

/**
 * Reads and validates one item off the database thread: photo probe, optional thumbnail (a cache
 * keyed by content hash, so making it before the row is committed is harmless), caption file.
 */
async function prepare(
  item: ImportItem,
  knownHash: string | undefined,
  ws: Workspace | null,
  rootReal: string,
): Promise<Prepared> {
  const misplaced = placementProblem(rootReal, item.absPath, item.relPath);
  if (misplaced) return { probe: { ok: false, reason: misplaced } };
  const probe = await probeImage(item.absPath, knownHash);
  if (!probe.ok) return { probe };
  if (ws) {
    try {
      await ensureThumbnail(ws, item.absPath, probe.image.contentHash);
    } catch (e) {
      const reason = `imported, but no thumbnail: ${(e as Error).message.split('\n')[0]}`;
      return { ...(await readCaptions(item, probe)), thumbnailError: { path: item.absPath, reason } };
    }
  }
  return readCaptions(item, probe);
}

async function readCaptions(item: ImportItem, probe: ProbeResult): Promise<Prepared> {
  if (item.captions) return { probe, captions: item.captions };
  if (!item.captionFile) return { probe };
  let bytes: Buffer;
  try {
    bytes = await readFile(item.captionFile);
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    if (c === 'ENOENT') return { probe }; // no caption file: fine, no captions
    const reason = `caption file unreadable (${c ?? (e as Error).message})`;
    return { probe, captionErrors: [{ path: item.captionFile, reason }] };
  }
  const parsed = parseCaptionFile(bytes);
  if (!parsed.ok) return { probe, captionErrors: [{ path: item.captionFile, reason: parsed.reason }] };
  const file = item.captionFile;
  const captionErrors = parsed.refused.map((r) => ({ path: `${file}:${r.line}`, reason: r.reason }));
  return { probe, captions: parsed.captions, ...(captionErrors.length ? { captionErrors } : {}) };
}

/**
 * Brings an image's imported captions in line with the dataset without losing human work or
 * duplicating it. A dataset caption matches a live caption with the same current text (so
 * re-importing our own export adds nothing), else an imported caption whose original text it is
 * (so an edited caption is not re-added in its old form). Unmatched dataset captions are added;
 * unmatched imported captions are soft-deleted (history kept) only if nobody ever edited them.
 */
export function syncImportedCaptions(db: Db, imageId: number, texts: string[]): number {
  const rows = db
    .prepare(
      `SELECT c.id, c.text,
              (SELECT r.text FROM caption_revisions r WHERE r.caption_id = c.id ORDER BY r.id LIMIT 1) AS original,
              (SELECT r.provenance FROM caption_revisions r WHERE r.caption_id = c.id ORDER BY r.id LIMIT 1) AS origin,
              (SELECT count(*) FROM caption_revisions r WHERE r.caption_id = c.id) AS revisions
         FROM captions c WHERE c.image_id = ? AND c.deleted = 0 ORDER BY c.ord`,
    )
    .all(imageId) as { id: number; text: string; original: string; origin: string; revisions: number }[];
  const used = new Set<number>();
  const toAdd: string[] = [];
  for (const t of texts) {
    const hit =
      rows.find((r) => !used.has(r.id) && r.text === t) ??
      rows.find((r) => !used.has(r.id) && r.origin === 'imported' && r.original === t);
    if (hit) used.add(hit.id);
    else toAdd.push(t);
  }
  const drop = db.prepare(
    `UPDATE captions SET deleted = 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`,
  );
  for (const r of rows) if (!used.has(r.id) && r.origin === 'imported' && r.revisions === 1) drop.run(r.id);
  for (const t of toAdd) addCaption(db, imageId, t, 'imported');
  return toAdd.length;
}

/** Photos imported before that this import did not list: marked missing when their file is gone. */
function markGoneFiles(db: Db, rootReal: string, existing: Map<string, { id: number }>, listed: Set<string>) {
  const mark = db.prepare("UPDATE images SET file_status = 'missing' WHERE id = ?");
  db.transaction(() => {
    for (const [rel, row] of existing) {
      if (!listed.has(rel) && !existsSync(join(rootReal, ...rel.split('/')))) mark.run(row.id);
    }
  })();
}

/**
 * Writes an import plan into the store. Files are probed in parallel (a small sliding window:
 * sharp decodes on the libuv pool), results are written strictly in plan order, one transaction
 * per image (row + label + captions + parts + official split), so a crash never half-writes one.
 */
export async function writePlan(
  db: Db,
  ws: Workspace,
  plan: ImportPlan,
  opts: ImportOptions = {},
): Promise<ImportResult> {
  const t0 = Date.now();
  const collection = db.transaction(() =>
    getOrCreateCollection(db, plan.root, plan.kind, plan.name, Boolean(opts.name)),
  )();
  const errors: ImportError[] = [...plan.errors];
  const ownsSplit = collection.kind === plan.kind;
  const missingPaths: string[] = [];
  let added = 0;
  let updated = 0;
  let unchanged = 0;
  let failed = 0;

  const existing = new Map<string, { id: number; hash: string }>();
  for (const r of db
    .prepare('SELECT id, rel_path, content_hash FROM images WHERE collection_id = ?')
    .iterate(collection.id) as IterableIterator<{ id: number; rel_path: string; content_hash: string }>) {
    existing.set(r.rel_path, { id: r.id, hash: r.content_hash });
  }

  // Part definitions first (they are shared by all images).
  const partIds = new Map<number, number>();
  if (plan.parts?.length) {
    db.transaction(() => {
      const up = db.prepare(
        `INSERT INTO parts(collection_id, source_id, name) VALUES (?, ?, ?)
         ON CONFLICT(collection_id, source_id) DO UPDATE SET name = excluded.name`,
      );
      for (const p of plan.parts!) up.run(collection.id, p.sourceId, p.name);
    })();
    for (const r of db
      .prepare('SELECT id, source_id FROM parts WHERE collection_id = ?')
      .all(collection.id) as {
      id: number;
      source_id: number;
    }[])
      partIds.set(r.source_id, r.id);
  }

  const classIds = new Map<string, number>();
  const classId = (key: string) => {
    let id = classIds.get(key);
    if (id === undefined) {
      const c = plan.classes.get(key)!;
      id = ensureClass(db, collection.id, c.name, c.sourceId);
      classIds.set(key, id);
    }
    return id;
  };

  const st = {
    find: db.prepare('SELECT id, content_hash FROM images WHERE collection_id = ? AND rel_path = ?'),
    insert: db.prepare(
      `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height,
                          taken_at, gps_lat, gps_lon, source_id, bbox_x, bbox_y, bbox_w, bbox_h)
       VALUES (@collection, @rel, @file, @hash, @bytes, @mtime, @w, @h, @taken, @lat, @lon, @source,
               @bx, @by, @bw, @bh)`,
    ),
    update: db.prepare(
      `UPDATE images SET file_name = @file, content_hash = @hash, bytes = @bytes, mtime_ms = @mtime, width = @w,
              height = @h, taken_at = @taken, gps_lat = @lat, gps_lon = @lon, source_id = @source,
              bbox_x = @bx, bbox_y = @by, bbox_w = @bw, bbox_h = @bh, file_status = 'ok'
        WHERE id = @id`,
    ),
    // Unchanged bytes: dimensions and EXIF stay; only file facts and dataset metadata are refreshed.
    touch: db.prepare(
      `UPDATE images SET file_name = @file, bytes = @bytes, mtime_ms = @mtime, source_id = @source,
              bbox_x = @bx, bbox_y = @by, bbox_w = @bw, bbox_h = @bh, file_status = 'ok'
        WHERE id = @id`,
    ),
    label: db.prepare('SELECT class_id, provenance FROM labels WHERE image_id = ?'),
    partLoc: db.prepare(
      'INSERT OR REPLACE INTO part_locations(image_id, part_id, x, y, visible) VALUES (?, ?, ?, ?, ?)',
    ),
    split: db.prepare("INSERT OR REPLACE INTO splits(scheme, image_id, part) VALUES ('official', ?, ?)"),
    // A photo imported before whose file now fails: the row keeps the imported facts, marked.
    fileStatus: db.prepare('UPDATE images SET file_status = ? WHERE id = ?'),
  };

  // Returns what happened to the row; counted by the caller only once the transaction committed.
  const writeOne = db.transaction((item: ImportItem, p: Prepared): 'added' | 'updated' | 'unchanged' => {
    if (!p.probe.ok) throw new Error('not a probed image');
    const img = p.probe.image;
    const fileName = item.relPath.split('/').pop()!;
    const row = {
      collection: collection.id,
      rel: item.relPath,
      file: fileName,
      hash: img.contentHash,
      bytes: img.bytes,
      mtime: img.mtimeMs,
      w: img.width,
      h: img.height,
      taken: img.exif.takenAt,
      lat: img.exif.gpsLat,
      lon: img.exif.gpsLon,
      source: item.sourceId ?? null,
      bx: item.bbox?.[0] ?? null,
      by: item.bbox?.[1] ?? null,
      bw: item.bbox?.[2] ?? null,
      bh: item.bbox?.[3] ?? null,
    };
    const prev = st.find.get(collection.id, item.relPath) as { id: number; content_hash: string } | undefined;
    let id: number;
    let outcome: 'added' | 'updated' | 'unchanged';
    if (!prev) {
      id = Number(st.insert.run(row).lastInsertRowid);
      outcome = 'added';
    } else if (img.known && prev.content_hash === img.contentHash) {
      id = prev.id;
      st.touch.run({ ...row, id });
      outcome = 'unchanged';
    } else {
      id = prev.id;
      st.update.run({ ...row, id });
      outcome = prev.content_hash !== img.contentHash ? 'updated' : 'unchanged';
    }
    if (item.classKey !== undefined) {
      const cid = classId(item.classKey);
      const cur = st.label.get(id) as { class_id: number; provenance: string } | undefined;
      // A curator's label always wins over the dataset's.
      if (!cur || (cur.provenance === 'imported' && cur.class_id !== cid)) setLabel(db, id, cid, 'imported');
    }
    if (p.captions) syncImportedCaptions(db, id, p.captions);
    if (item.parts) {
      for (const loc of item.parts) {
        const pid = partIds.get(loc.part);
        if (pid !== undefined) st.partLoc.run(id, pid, loc.x, loc.y, loc.visible ? 1 : 0);
      }
    }
    // The dataset's own split belongs to the importer that created the collection: importing a
    // COCO export back into a CUB collection must not overwrite CUB's train_test_split.
    if (item.officialPart && ownsSplit) st.split.run(id, item.officialPart);
    return outcome;
  });

  const window = Math.max(1, opts.concurrency ?? 4);
  const items = plan.items;
  const rootReal = realRoot(plan.root);
  const pending: Promise<Prepared>[] = [];
  const start = (i: number) => {
    if (i < items.length)
      pending[i] = prepare(items[i], existing.get(items[i].relPath)?.hash, opts.thumbnails ? ws : null, rootReal);
  };
  for (let i = 0; i < window; i++) start(i);
  let cancelled = false;
  for (let i = 0; i < items.length; i++) {
    // Cancelling stops between images: everything written so far is whole (one transaction each).
    if (opts.signal?.aborted) {
      cancelled = true;
      await Promise.allSettled(pending.filter(Boolean));
      break;
    }
    const p = await pending[i];
    delete pending[i];
    start(i + window);
    const item = items[i];
    if (!p.probe.ok) {
      const known = existing.get(item.relPath);
      if (known) st.fileStatus.run(p.probe.missing ? 'missing' : 'changed', known.id);
      if (p.probe.missing && item.listed) missingPaths.push(item.absPath);
      else {
        failed++;
        errors.push({ path: item.absPath, reason: p.probe.reason });
      }
    } else {
      if (p.captionErrors) errors.push(...p.captionErrors);
      let written = false;
      try {
        const outcome = writeOne(item, p);
        written = true;
        if (outcome === 'added') added++;
        else if (outcome === 'updated') updated++;
        else unchanged++;
      } catch (e) {
        classIds.clear(); // a class created inside the rolled-back transaction is gone too
        failed++;
        errors.push({ path: item.absPath, reason: `not written: ${(e as Error).message.split('\n')[0]}` });
      }
      if (written && p.thumbnailError) errors.push(p.thumbnailError);
    }
    opts.onProgress?.(i + 1, items.length);
  }

  if (plan.missingInErrors && missingPaths.length) {
    for (const m of missingPaths.slice(0, MISSING_SAMPLE))
      errors.push({ path: m, reason: 'listed but not found' });
    if (missingPaths.length > MISSING_SAMPLE) {
      errors.push({
        path: plan.root,
        reason: `${missingPaths.length - MISSING_SAMPLE} more listed images not found (${missingPaths.length} missing in all)`,
      });
    }
  }

  if (!cancelled) markGoneFiles(db, rootReal, existing, new Set(items.map((it) => it.relPath)));
  ensureDefaultSplit(db, collection.id);
  const totals = collectionTotals(db, collection.id);
  return {
    ...totals,
    added,
    updated,
    unchanged,
    missing: missingPaths.length,
    failed,
    errors,
    collection: collection.id,
    name: collection.name,
    root: collection.root,
    kind: plan.kind,
    captions_dir: plan.captionsDir ?? null,
    seconds: (Date.now() - t0) / 1000,
    ...(cancelled ? { cancelled: true } : {}),
  };
}
