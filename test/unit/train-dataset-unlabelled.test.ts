/**
 * Training a collection whose photos have no species yet (a plain folder imported without
 * sub-folders) is refused with a sentence that says what to do, not "import a dataset first" to a
 * curator who just did.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src-main/data/store.ts';
import { loadDataset } from '../../src-main/jobs/train/dataset.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('training photos without species', () => {
  it('is refused with what to do: give photos a species', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plumage-unlabelled-'));
    dirs.push(dir);
    const db = openDb(join(dir, 'p.db'));
    try {
      db.prepare("INSERT INTO collections(id, name, root, kind) VALUES (1, 'garden', '/x', 'folder')").run();
      db.prepare(
        `INSERT INTO images(id, collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
         VALUES (1, 1, 'a.jpg', 'a.jpg', 'h1', 1, 0, 10, 10), (2, 1, 'b.jpg', 'b.jpg', 'h2', 1, 0, 10, 10)`,
      ).run();
      expect(() => loadDataset(db, { split: 'default', collectionId: 1, seed: 1 })).toThrow(
        /^no photo has a species yet: give some photos a species first \(in the app: the Species field of a photo, or several selected in the gallery/,
      );
    } finally {
      db.close();
    }
  });
});
