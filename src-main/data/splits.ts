import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fnv1a32 as hash32, mulberry32 as prng, shuffled } from '../util/rng.ts';
import type { Db } from './store.ts';

/**
 * Train/val/test splits (docs/design.md: Data). Scheme 'default': seeded stratified random split of every
 * image of a collection. Scheme 'paper' + 'paper-caption': the paper's Table 1 protocol — classes
 * are first split for captioning (caption_train / caption_test classes), then the images of the
 * caption-train classes get a classification split (the dataset's official one where it exists).
 * Scheme 'official' is written by importers (CUB train_test_split.txt, Oxford-102 setid.mat).
 * Everything is deterministic for a given seed: images are ordered by path before shuffling.
 */

export interface SplitFractions {
  val: number;
  test: number;
}
export const DEFAULT_FRACTIONS: SplitFractions = { val: 0.1, test: 0.2 };

/** Paper protocol class proportions for captioning: CUB 150/50, Oxford-102 82/20. */
export const PAPER_TEST_CLASS_SHARE: Record<string, number> = { cub: 50 / 200, flowers: 20 / 102 };

export interface PartSummary {
  part: string;
  classes: number;
  images: number;
}
export interface SplitSummary {
  scheme: string;
  collection: number;
  seed: number | null;
  source: string;
  parts: PartSummary[];
}

/** The split's shuffles: mulberry32 seeded per (seed, key) through FNV-1a (util/rng.ts). */
export { hash32, prng, shuffled };

/** How many of n go to val and test; at least one stays in train. */
export function partSizes(n: number, f: SplitFractions): { train: number; val: number; test: number } {
  let test = Math.round(n * f.test);
  let val = Math.round(n * f.val);
  while (n - test - val < 1 && val > 0) val--;
  while (n - test - val < 1 && test > 0) test--;
  return { train: n - val - test, val, test };
}

interface ImageRow {
  id: number;
  rel_path: string;
  class_id: number | null;
  class_name: string | null;
  source_id: string | null;
}

function collectionImages(db: Db, collectionId: number): ImageRow[] {
  return db
    .prepare(
      `SELECT i.id, i.rel_path, l.class_id, c.name AS class_name, c.source_id
         FROM images i LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN classes c ON c.id = l.class_id
        WHERE i.collection_id = ? ORDER BY i.rel_path`,
    )
    .all(collectionId) as ImageRow[];
}

/** Stratified assignment: within each class (unlabelled images form their own group). */
export function stratify(
  rows: ImageRow[],
  f: SplitFractions,
  seed: number,
): Map<number, 'train' | 'val' | 'test'> {
  const groups = new Map<string, ImageRow[]>();
  for (const r of rows) {
    const key = r.class_name ?? '\u0000unlabelled';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const out = new Map<number, 'train' | 'val' | 'test'>();
  for (const [key, g] of groups) {
    const order = shuffled(
      [...g].sort((a, b) => (a.rel_path < b.rel_path ? -1 : 1)),
      prng(hash32(`${seed}:${key}`)),
    );
    const s = partSizes(order.length, f);
    order.forEach((r, i) => out.set(r.id, i < s.test ? 'test' : i < s.test + s.val ? 'val' : 'train'));
  }
  return out;
}

function writeScheme(
  db: Db,
  collectionId: number,
  scheme: string,
  parts: Map<number, string>,
  replace: boolean,
) {
  db.transaction(() => {
    if (replace) {
      db.prepare(
        'DELETE FROM splits WHERE scheme = ? AND image_id IN (SELECT id FROM images WHERE collection_id = ?)',
      ).run(scheme, collectionId);
    }
    const ins = db.prepare('INSERT OR REPLACE INTO splits(scheme, image_id, part) VALUES (?, ?, ?)');
    for (const [id, part] of parts) ins.run(scheme, id, part);
  })();
}

function checkFractions(f: SplitFractions) {
  if (!(f.val >= 0 && f.test >= 0 && f.val + f.test < 1)) {
    throw new RangeError(
      `split fractions must be ≥ 0 with val + test < 1 (got val ${f.val}, test ${f.test})`,
    );
  }
}

/** Scheme 'default': seeded stratified random train/val/test over the whole collection. */
export function makeDefaultSplit(
  db: Db,
  collectionId: number,
  seed = 0,
  f: SplitFractions = DEFAULT_FRACTIONS,
): SplitSummary {
  checkFractions(f);
  writeScheme(db, collectionId, 'default', stratify(collectionImages(db, collectionId), f, seed), true);
  return {
    ...summarise(db, collectionId, 'default'),
    seed,
    source: `stratified random (val ${f.val}, test ${f.test})`,
  };
}

/**
 * After an import: a collection without a 'default' split gets one (seed 0) so training can start
 * at once; images added to a collection that has one are assigned, stratified among themselves,
 * without moving any image already placed.
 */
export function ensureDefaultSplit(db: Db, collectionId: number): void {
  const rows = collectionImages(db, collectionId);
  const placed = new Set(
    (
      db
        .prepare(
          "SELECT s.image_id FROM splits s JOIN images i ON i.id = s.image_id WHERE s.scheme = 'default' AND i.collection_id = ?",
        )
        .all(collectionId) as { image_id: number }[]
    ).map((r) => r.image_id),
  );
  if (placed.size === 0) {
    if (rows.length) makeDefaultSplit(db, collectionId, 0);
    return;
  }
  const fresh = rows.filter((r) => !placed.has(r.id));
  if (fresh.length) writeScheme(db, collectionId, 'default', stratify(fresh, DEFAULT_FRACTIONS, 0), false);
}

/** Reed-style class lists next to the data: trainvalclasses.txt / testclasses.txt. */
function findClassLists(root: string): { dir: string; trainval: string[]; test: string[] } | null {
  for (const dir of [root, dirname(root)]) {
    const t = join(dir, 'testclasses.txt');
    const tv = join(dir, 'trainvalclasses.txt');
    if (existsSync(t) && existsSync(tv)) {
      const read = (p: string) =>
        readFileSync(p, 'utf8')
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter(Boolean);
      return { dir, trainval: read(tv), test: read(t) };
    }
  }
  return null;
}

/** Does a class-list entry name this class? By exact name, else by its number (class_00001 ↔ 1). */
function listHas(list: string[], name: string, sourceId: string | null): boolean {
  if (list.includes(name)) return true;
  if (sourceId === null || !/^\d+$/.test(sourceId)) return false;
  return list.some((l) => {
    const m = /(\d+)/.exec(l);
    return m !== null && Number(m[1]) === Number(sourceId);
  });
}

/** The paper's Table 1 protocol: schemes 'paper-caption' (by class) and 'paper' (classification). */
export function makePaperSplit(
  db: Db,
  collectionId: number,
  seed = 0,
  f: SplitFractions = DEFAULT_FRACTIONS,
): SplitSummary {
  checkFractions(f);
  const col = db.prepare('SELECT root, kind FROM collections WHERE id = ?').get(collectionId) as {
    root: string;
    kind: string;
  };
  const rows = collectionImages(db, collectionId).filter((r) => r.class_id !== null);
  const classes = [...new Map(rows.map((r) => [r.class_name!, r.source_id])).entries()].sort((a, b) =>
    a[0] < b[0] ? -1 : 1,
  );
  const testClasses = new Set<string>();
  let source: string;
  const lists = findClassLists(col.root);
  if (lists) {
    for (const [name, sid] of classes) if (listHas(lists.test, name, sid)) testClasses.add(name);
    source = `class lists in ${lists.dir}`;
  } else {
    const share = PAPER_TEST_CLASS_SHARE[col.kind] ?? PAPER_TEST_CLASS_SHARE.cub;
    const n =
      classes.length >= 2 ? Math.min(classes.length - 1, Math.max(1, Math.round(classes.length * share))) : 0;
    for (const [name] of shuffled(classes, prng(hash32(`${seed}:paper-classes`))).slice(0, n))
      testClasses.add(name);
    source = `seeded class split (${Math.round(share * 1000) / 10}% of classes for caption_test)`;
  }
  const captionParts = new Map<number, string>();
  for (const r of rows)
    captionParts.set(r.id, testClasses.has(r.class_name!) ? 'caption_test' : 'caption_train');

  const trainRows = rows.filter((r) => !testClasses.has(r.class_name!));
  const official = new Map(
    (
      db
        .prepare(
          "SELECT s.image_id, s.part FROM splits s JOIN images i ON i.id = s.image_id WHERE s.scheme = 'official' AND i.collection_id = ?",
        )
        .all(collectionId) as { image_id: number; part: string }[]
    ).map((r) => [r.image_id, r.part]),
  );
  let clsParts: Map<number, string>;
  if (trainRows.length && trainRows.every((r) => official.has(r.id))) {
    clsParts = new Map(trainRows.map((r) => [r.id, official.get(r.id)!]));
    source += '; classification: official split';
  } else {
    clsParts = stratify(trainRows, f, seed);
    source += `; classification: stratified random (val ${f.val}, test ${f.test})`;
  }
  db.transaction(() => {
    writeScheme(db, collectionId, 'paper-caption', captionParts, true);
    writeScheme(db, collectionId, 'paper', clsParts, true);
  })();
  const cap = summarise(db, collectionId, 'paper-caption');
  const cls = summarise(db, collectionId, 'paper');
  return { scheme: 'paper', collection: collectionId, seed, source, parts: [...cap.parts, ...cls.parts] };
}

const PART_ORDER = ['caption_train', 'caption_test', 'train', 'val', 'test'];

/** Classes and images per part of a scheme (the rows of the paper's Table 1). */
export function summarise(db: Db, collectionId: number, scheme: string): SplitSummary {
  const parts = (
    db
      .prepare(
        `SELECT s.part, count(DISTINCT l.class_id) AS classes, count(*) AS images
           FROM splits s JOIN images i ON i.id = s.image_id LEFT JOIN labels l ON l.image_id = i.id
          WHERE s.scheme = ? AND i.collection_id = ? GROUP BY s.part`,
      )
      .all(scheme, collectionId) as PartSummary[]
  ).sort((a, b) => PART_ORDER.indexOf(a.part) - PART_ORDER.indexOf(b.part));
  return { scheme, collection: collectionId, seed: null, source: '', parts };
}

/** Table 1 as text lines. */
export function formatSummary(s: SplitSummary): string[] {
  const lines = [
    `split '${s.scheme}' of collection ${s.collection}${s.seed !== null ? ` (seed ${s.seed})` : ''}: ${s.source}`,
  ];
  lines.push(`  ${'part'.padEnd(14)}${'classes'.padStart(8)}${'images'.padStart(9)}`);
  for (const p of s.parts)
    lines.push(`  ${p.part.padEnd(14)}${String(p.classes).padStart(8)}${String(p.images).padStart(9)}`);
  return lines;
}
