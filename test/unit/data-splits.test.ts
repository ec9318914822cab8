import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setLabel } from '../../src-main/data/annotations.ts';
import {
  ensureDefaultSplit,
  makeDefaultSplit,
  makePaperSplit,
  partSizes,
  prng,
  shuffled,
} from '../../src-main/data/splits.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A collection with `perClass[c]` images in class c, inserted directly (no photos needed). */
function seeded(perClass: number[], kind = 'cub'): { db: Db; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'plumage-splits-'));
  dirs.push(root);
  const db = openDb(join(root, 'w.db'));
  db.prepare('INSERT INTO collections(id, name, root, kind) VALUES (1, ?, ?, ?)').run('c', root, kind);
  let img = 1;
  perClass.forEach((n, c) => {
    db.prepare('INSERT INTO classes(id, collection_id, name, source_id) VALUES (?, 1, ?, ?)').run(
      c + 1,
      `${String(c + 1).padStart(3, '0')}.Class_${c + 1}`,
      String(c + 1),
    );
    for (let k = 0; k < n; k++, img++) {
      db.prepare(
        `INSERT INTO images(id, collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
         VALUES (?, 1, ?, ?, 'h', 1, 0, 8, 8)`,
      ).run(img, `c${c + 1}/img${String(k).padStart(3, '0')}.jpg`, `img${k}.jpg`);
      setLabel(db, img, c + 1, 'imported');
    }
  });
  return { db, root };
}

const parts = (db: Db, scheme: string) =>
  Object.fromEntries(
    (
      db.prepare('SELECT image_id, part FROM splits WHERE scheme = ? ORDER BY image_id').all(scheme) as {
        image_id: number;
        part: string;
      }[]
    ).map((r) => [r.image_id, r.part]),
  );

describe('splits', () => {
  it('partSizes keeps at least one training image and rounds per class', () => {
    expect(partSizes(10, { val: 0.1, test: 0.2 })).toEqual({ train: 7, val: 1, test: 2 });
    expect(partSizes(1, { val: 0.1, test: 0.2 })).toEqual({ train: 1, val: 0, test: 0 });
    expect(partSizes(2, { val: 0.5, test: 0.5 })).toEqual({ train: 1, val: 0, test: 1 });
    expect(partSizes(0, { val: 0.1, test: 0.2 })).toEqual({ train: 0, val: 0, test: 0 });
  });

  it('prng/shuffle are deterministic per seed and a permutation', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    expect(shuffled(xs, prng(7))).toEqual(shuffled(xs, prng(7)));
    expect(shuffled(xs, prng(7))).not.toEqual(shuffled(xs, prng(8)));
    expect([...shuffled(xs, prng(7))].sort((a, b) => a - b)).toEqual(xs);
  });

  it("'default' is stratified per class, deterministic per seed, different across seeds", () => {
    const { db } = seeded([20, 10, 30]);
    const s = makeDefaultSplit(db, 1, 5, { val: 0.1, test: 0.2 });
    const byPart = Object.fromEntries(s.parts.map((p) => [p.part, p.images]));
    // Per class: 20 → 14/2/4, 10 → 7/1/2, 30 → 21/3/6.
    expect(byPart).toEqual({ train: 42, val: 6, test: 12 });
    const perClass = db
      .prepare(
        `SELECT l.class_id c, s.part p, count(*) n FROM splits s JOIN labels l ON l.image_id = s.image_id
          WHERE s.scheme = 'default' GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all();
    expect(perClass).toEqual([
      { c: 1, p: 'test', n: 4 },
      { c: 1, p: 'train', n: 14 },
      { c: 1, p: 'val', n: 2 },
      { c: 2, p: 'test', n: 2 },
      { c: 2, p: 'train', n: 7 },
      { c: 2, p: 'val', n: 1 },
      { c: 3, p: 'test', n: 6 },
      { c: 3, p: 'train', n: 21 },
      { c: 3, p: 'val', n: 3 },
    ]);
    const a = parts(db, 'default');
    makeDefaultSplit(db, 1, 5, { val: 0.1, test: 0.2 });
    expect(parts(db, 'default')).toEqual(a);
    makeDefaultSplit(db, 1, 6, { val: 0.1, test: 0.2 });
    expect(parts(db, 'default')).not.toEqual(a);
    expect(() => makeDefaultSplit(db, 1, 0, { val: 0.5, test: 0.5 })).toThrow(RangeError);
    db.close();
  });

  it('ensureDefaultSplit creates seed 0 once, then only places new images', () => {
    const { db } = seeded([10]);
    ensureDefaultSplit(db, 1);
    const a = parts(db, 'default');
    expect(Object.keys(a)).toHaveLength(10);
    db.prepare(
      `INSERT INTO images(id, collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
       VALUES (99, 1, 'c1/new.jpg', 'new.jpg', 'h', 1, 0, 8, 8)`,
    ).run();
    ensureDefaultSplit(db, 1);
    const b = parts(db, 'default');
    expect(b[99]).toBe('train');
    delete b[99];
    expect(b).toEqual(a);
    db.close();
  });

  it("'paper': seeded class split with CUB proportions (150/50), then the official split within caption-train classes", () => {
    const { db } = seeded(Array.from({ length: 8 }, () => 4));
    // Official split: even image ids train, odd test.
    for (let i = 1; i <= 32; i++)
      db.prepare("INSERT INTO splits(scheme, image_id, part) VALUES ('official', ?, ?)").run(
        i,
        i % 2 ? 'test' : 'train',
      );
    const s = makePaperSplit(db, 1, 1);
    const byPart = Object.fromEntries(s.parts.map((p) => [p.part, p]));
    expect(byPart.caption_test).toEqual({ part: 'caption_test', classes: 2, images: 8 }); // 8 × 50/200
    expect(byPart.caption_train).toEqual({ part: 'caption_train', classes: 6, images: 24 });
    expect(byPart.train.images + byPart.test.images).toBe(24);
    expect(byPart.val).toBeUndefined();
    expect(s.source).toMatch(/official split/);
    // Classification images are exactly the caption-train images, with their official part.
    const cap = parts(db, 'paper-caption');
    const cls = parts(db, 'paper');
    for (const [id, p] of Object.entries(cls)) {
      expect(cap[id]).toBe('caption_train');
      expect(p).toBe(Number(id) % 2 ? 'test' : 'train');
    }
    expect(Object.values(cap).filter((p) => p === 'caption_train')).toHaveLength(Object.keys(cls).length);
    // Same seed, same split.
    makePaperSplit(db, 1, 1);
    expect(parts(db, 'paper-caption')).toEqual(cap);
    db.close();
  });

  it("'paper' uses Reed's class lists when present and Flowers proportions (82/20) otherwise", () => {
    const { db, root } = seeded([3, 3, 3, 3]);
    writeFileSync(join(root, 'trainvalclasses.txt'), '001.Class_1\n002.Class_2\n004.Class_4\n');
    writeFileSync(join(root, 'testclasses.txt'), '003.Class_3\n');
    const s = makePaperSplit(db, 1, 0);
    expect(s.source).toMatch(/class lists/);
    const testIds = Object.entries(parts(db, 'paper-caption'))
      .filter(([, p]) => p === 'caption_test')
      .map(([id]) => Number(id));
    expect(testIds).toEqual([7, 8, 9]);
    // No official split: stratified within the caption-train classes.
    expect(s.source).toMatch(/stratified/);
    db.close();

    const f = seeded(
      Array.from({ length: 102 }, () => 1),
      'flowers',
    );
    const sf = makePaperSplit(f.db, 1, 0);
    expect(Object.fromEntries(sf.parts.map((p) => [p.part, p.classes]))).toMatchObject({
      caption_train: 82,
      caption_test: 20,
    });
    f.db.close();
  });
});
