/**
 * A tiny training workspace: 3 classes × 6 images (4 train, 1 val, 1 test each), random 3×3×8
 * feature maps whose mean depends on the class (encoder 'test_enc'), 2 captions per image.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { FeatureCache } from '../../src-main/ml/feature-cache.ts';
import { Mulberry32 as Rng } from '../../src-main/util/rng.ts';

const WORDS = ['red', 'blue', 'green', 'yellow'];

/** A new workspace holding the fixture; returns its home. */
export function trainFixture(): string {
  const home = mkdtempSync(join(tmpdir(), 'plumage-train-'));
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  const col = db
    .prepare(`INSERT INTO collections (name, root, kind) VALUES ('t', ?, 'folder')`)
    .run(home).lastInsertRowid;
  const cache = new FeatureCache(ws.features, 'test_enc');
  const rng = new Rng(7);
  for (let c = 0; c < 3; c++) {
    const cls = db
      .prepare(`INSERT INTO classes (collection_id, name) VALUES (?, ?)`)
      .run(col, `species ${c}`).lastInsertRowid;
    for (let i = 0; i < 6; i++) {
      const hash = `h${c}${i}`.padEnd(64, '0');
      const id = db
        .prepare(
          `INSERT INTO images (collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height) VALUES (?, ?, ?, ?, 1, 0, 8, 8)`,
        )
        .run(col, `${c}/${i}.png`, `${i}.png`, hash).lastInsertRowid;
      db.prepare(`INSERT INTO labels (image_id, class_id, provenance) VALUES (?, ?, 'imported')`).run(
        id,
        cls,
      );
      db.prepare(`INSERT INTO captions (image_id, ord, text, provenance) VALUES (?, 0, ?, 'imported')`).run(
        id,
        `a ${WORDS[c]} bird`,
      );
      db.prepare(`INSERT INTO captions (image_id, ord, text, provenance) VALUES (?, 1, ?, 'imported')`).run(
        id,
        `this bird is ${WORDS[c]} and small`,
      );
      db.prepare(`INSERT INTO splits (scheme, image_id, part) VALUES ('default', ?, ?)`).run(
        id,
        i < 4 ? 'train' : i === 4 ? 'val' : 'test',
      );
      const map = new Float32Array(3 * 3 * 8).map((_, k) => rng.next() + (k % 8 === c ? 1 : 0));
      cache.put(hash, map, [3, 3, 8]);
    }
  }
  db.close();
  return home;
}
