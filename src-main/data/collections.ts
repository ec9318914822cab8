import { resolve } from 'node:path';
import type { Db } from './store.ts';
import { notFound } from '../util/errors.ts';

/** A collection: a set of photos under one root folder, imported with one importer. */
export interface CollectionRow {
  id: number;
  name: string;
  root: string;
  kind: string;
  created_at: string;
}

/**
 * Finds the collection keyed by its absolute root folder, creating it if needed. An existing
 * collection keeps its kind (it decides the paper-split proportions) and its name unless
 * `rename` is set (an explicit --name).
 */
export function getOrCreateCollection(
  db: Db,
  root: string,
  kind: string,
  name: string,
  rename = false,
): CollectionRow {
  const abs = resolve(root);
  const row = db.prepare('SELECT * FROM collections WHERE root = ?').get(abs) as CollectionRow | undefined;
  if (row) {
    if (rename && row.name !== name) {
      db.prepare('UPDATE collections SET name = ? WHERE id = ?').run(name, row.id);
      return { ...row, name };
    }
    return row;
  }
  const id = Number(
    db.prepare('INSERT INTO collections(name, root, kind) VALUES (?, ?, ?)').run(name, abs, kind)
      .lastInsertRowid,
  );
  return db.prepare('SELECT * FROM collections WHERE id = ?').get(id) as CollectionRow;
}

export function listCollections(db: Db): CollectionRow[] {
  return db.prepare('SELECT * FROM collections ORDER BY id').all() as CollectionRow[];
}

/** Looks a collection up by id or by name; throws a readable error when absent. */
export function findCollection(db: Db, idOrName: string | number): CollectionRow {
  const row = (
    /^\d+$/.test(String(idOrName))
      ? db.prepare('SELECT * FROM collections WHERE id = ?').get(Number(idOrName))
      : db.prepare('SELECT * FROM collections WHERE name = ? ORDER BY id LIMIT 1').get(String(idOrName))
  ) as CollectionRow | undefined;
  if (!row) throw notFound(`no collection '${idOrName}'`);
  return row;
}

/**
 * Returns the id of a class of the collection, creating it (by name) if needed. A class merged into
 * another (Species manager) answers with the one it was merged into, so a re-import labels photos
 * with the species the curator kept.
 */
export function ensureClass(db: Db, collectionId: number, name: string, sourceId: string | null): number {
  const row = db
    .prepare('SELECT id, source_id FROM classes WHERE collection_id = ? AND name = ?')
    .get(collectionId, name) as { id: number; source_id: string | null } | undefined;
  if (row) {
    if (sourceId !== null && row.source_id !== sourceId)
      db.prepare('UPDATE classes SET source_id = ? WHERE id = ?').run(sourceId, row.id);
    return mergedTarget(db, row.id);
  }
  return Number(
    db
      .prepare('INSERT INTO classes(collection_id, name, source_id) VALUES (?, ?, ?)')
      .run(collectionId, name, sourceId).lastInsertRowid,
  );
}

/** Totals the import contract reports (docs/design.md: Command line): images, classes and live captions of a collection. */
export function collectionTotals(db: Db, collectionId: number) {
  const one = (sql: string) => (db.prepare(sql).get(collectionId) as { n: number }).n;
  return {
    images: one('SELECT count(*) n FROM images WHERE collection_id = ?'),
    classes: one('SELECT count(*) n FROM classes WHERE collection_id = ? AND merged_into IS NULL AND removed = 0'),
    captions: one(
      'SELECT count(*) n FROM captions c JOIN images i ON i.id = c.image_id WHERE i.collection_id = ? AND c.deleted = 0',
    ),
  };
}

/** The class a label should use: for a merged class the one it was merged into (followed to the end), else itself. */
export function mergedTarget(db: Db, classId: number): number {
  const next = db.prepare('SELECT merged_into FROM classes WHERE id = ?');
  const seen = new Set<number>();
  let id = classId;
  for (;;) {
    const row = next.get(id) as { merged_into: number | null } | undefined;
    if (!row || row.merged_into === null || seen.has(id)) return id;
    seen.add(id);
    id = row.merged_into;
  }
}
