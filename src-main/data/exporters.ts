import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectionRow } from './collections.ts';
import type { Db } from './store.ts';
import { csvCell } from '../util/csv.ts';

interface ExportImage {
  id: number;
  collection_id: number;
  root: string;
  rel_path: string;
  width: number;
  height: number;
  class_id: number | null;
  class_name: string | null;
  review_status: string;
  split: string | null;
  taken_at: string | null;
}

function images(db: Db, collectionIds: number[], scheme: string): ExportImage[] {
  return db
    .prepare(
      `SELECT i.id, i.collection_id, c.root, i.rel_path, i.width, i.height, l.class_id, k.name AS class_name,
              i.review_status, s.part AS split, i.taken_at
         FROM images i JOIN collections c ON c.id = i.collection_id
         LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN classes k ON k.id = l.class_id
         LEFT JOIN splits s ON s.image_id = i.id AND s.scheme = ?
        WHERE i.collection_id IN (SELECT value FROM json_each(?)) ORDER BY i.collection_id, i.rel_path`,
    )
    .all(scheme, JSON.stringify(collectionIds)) as ExportImage[];
}

function captionsByImage(db: Db, collectionIds: number[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const r of db
    .prepare(
      `SELECT x.image_id, x.text FROM captions x JOIN images i ON i.id = x.image_id
        WHERE x.deleted = 0 AND i.collection_id IN (SELECT value FROM json_each(?)) ORDER BY x.image_id, x.ord`,
    )
    .iterate(JSON.stringify(collectionIds)) as IterableIterator<{ image_id: number; text: string }>) {
    let l = out.get(r.image_id);
    if (!l) out.set(r.image_id, (l = []));
    l.push(r.text);
  }
  return out;
}

/** Writes via a temporary file and a rename, so a failed export never leaves a truncated file. */
function writeAtomic(file: string, text: string) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * COCO-captions JSON of one collection: images (file_name relative to the collection root, plus
 * category_id and split), annotations (one per caption, in caption order), categories. The extra
 * `plumage.images_root` lets `plumage import coco` find the photos wherever the JSON is written.
 */
export function exportCoco(db: Db, collection: CollectionRow, file: string, scheme = 'default') {
  const imgs = images(db, [collection.id], scheme);
  const caps = captionsByImage(db, [collection.id]);
  const classes = db
    .prepare('SELECT id, name FROM classes WHERE collection_id = ? ORDER BY id')
    .all(collection.id) as {
    id: number;
    name: string;
  }[];
  const annotations: { id: number; image_id: number; caption: string }[] = [];
  for (const im of imgs)
    for (const c of caps.get(im.id) ?? [])
      annotations.push({ id: annotations.length + 1, image_id: im.id, caption: c });
  const doc = {
    info: {
      description: `Plumage export of collection '${collection.name}'`,
      date_created: new Date().toISOString(),
    },
    plumage: {
      collection: collection.name,
      kind: collection.kind,
      images_root: collection.root,
      split_scheme: scheme,
    },
    images: imgs.map((im) => ({
      id: im.id,
      file_name: im.rel_path,
      width: im.width,
      height: im.height,
      ...(im.class_id !== null ? { category_id: im.class_id } : {}),
      ...(im.split ? { split: im.split } : {}),
      ...(im.taken_at ? { date_captured: im.taken_at } : {}),
    })),
    annotations,
    categories: classes.map((c) => ({ id: c.id, name: c.name })),
  };
  writeAtomic(file, JSON.stringify(doc));
  return { images: imgs.length, captions: annotations.length, categories: classes.length };
}

/** Separator between an image's captions in the CSV `captions` column. */
export const CSV_CAPTION_SEPARATOR = ' | ';

/** CSV, one row per image: path (absolute), class, split, review status, captions joined. */
export function exportCsv(db: Db, collections: CollectionRow[], file: string, scheme = 'default') {
  const ids = collections.map((c) => c.id);
  const imgs = images(db, ids, scheme);
  const caps = captionsByImage(db, ids);
  const lines = ['collection,path,class,split,review_status,captions'];
  for (const im of imgs) {
    lines.push(
      [
        im.collection_id,
        join(im.root, ...im.rel_path.split('/')),
        im.class_name,
        im.split,
        im.review_status,
        (caps.get(im.id) ?? []).join(CSV_CAPTION_SEPARATOR),
      ]
        .map(csvCell)
        .join(','),
    );
  }
  writeAtomic(file, lines.join('\r\n') + '\r\n');
  return { images: imgs.length, captions: [...caps.values()].reduce((a, l) => a + l.length, 0) };
}
