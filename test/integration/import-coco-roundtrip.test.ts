import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addCaption, reviseCaption, setLabel } from '../../src-main/data/annotations.ts';
import { exportCoco, exportCsv } from '../../src-main/data/exporters.ts';
import { findCollection } from '../../src-main/data/collections.ts';
import { importDataset } from '../../src-main/data/importers/index.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { cleanTemps, jpeg, makeCub, tempDir, write } from './import-fixtures.ts';

const repo = resolve(import.meta.dirname, '../..');
afterEach(cleanTemps);

function home() {
  const ws = workspace(tempDir('home'));
  return { ws, db: openDb(ws.dbPath) };
}

/** Every image's path, label and live captions (in order): what must survive a round trip. */
function snapshot(db: Db) {
  return db
    .prepare(
      `SELECT i.rel_path, k.name AS class,
              (SELECT json_group_array(text) FROM (SELECT text FROM captions c WHERE c.image_id = i.id AND c.deleted = 0 ORDER BY c.ord)) AS captions
         FROM images i LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN classes k ON k.id = l.class_id
        ORDER BY i.rel_path`,
    )
    .all();
}

describe('export coco → import coco', () => {
  it('round-trips labels and captions exactly, including human edits, unlabelled images and odd text', async () => {
    const fx = await makeCub(3, 3);
    write(join(fx.root, 'images', 'unsorted', 'stray "quoted", photo.jpg'), await jpeg(77));
    const a = home();
    await importDataset(a.db, a.ws, 'cub', fx.out);
    await importDataset(a.db, a.ws, 'folder', join(fx.root, 'images', 'unsorted')); // a second collection
    const img = (n: string) =>
      (a.db.prepare('SELECT id FROM images WHERE source_id = ?').get(n) as { id: number }).id;
    const wren = (a.db.prepare('SELECT id FROM classes ORDER BY id DESC LIMIT 1').get() as { id: number }).id;
    setLabel(a.db, img('1'), wren, 'human');
    const cap = a.db
      .prepare('SELECT id FROM captions WHERE image_id = ? ORDER BY ord LIMIT 1')
      .get(img('2')) as { id: number };
    reviseCaption(a.db, cap.id, 'edited: "a bird", with commas, ünïcödé', 'human');
    addCaption(a.db, img('3'), 'a caption added by a curator', 'human');
    const cub = findCollection(a.db, 1);
    const file = join(tempDir('export'), 'cub.json');
    const out = exportCoco(a.db, cub, file);
    expect(out).toEqual({ images: 9, captions: 91, categories: 3 });
    const before = snapshot(a.db).filter(
      (r) => !String((r as { rel_path: string }).rel_path).startsWith('stray'),
    );

    const b = home();
    const r = await importDataset(b.db, b.ws, 'coco', file);
    expect(r).toMatchObject({ images: 9, classes: 3, captions: 91, added: 9, errors: [] });
    expect(r.root).toBe(fx.root);
    expect(snapshot(b.db)).toEqual(before);
    // The exported split comes back as the collection's 'official' split.
    const splitsA = a.db
      .prepare(
        "SELECT i.rel_path, s.part FROM splits s JOIN images i ON i.id = s.image_id WHERE s.scheme = 'default' AND i.collection_id = 1 ORDER BY 1",
      )
      .all();
    const splitsB = b.db
      .prepare(
        "SELECT i.rel_path, s.part FROM splits s JOIN images i ON i.id = s.image_id WHERE s.scheme = 'official' ORDER BY 1",
      )
      .all();
    expect(splitsB).toEqual(splitsA);
    // Idempotent: importing the same export again changes nothing.
    expect(await importDataset(b.db, b.ws, 'coco', file)).toMatchObject({
      images: 9,
      captions: 91,
      added: 0,
    });
    const officialA = a.db
      .prepare("SELECT image_id, part FROM splits WHERE scheme = 'official' ORDER BY 1")
      .all();
    // Importing the export back into the original workspace (same root = same collection) adds
    // nothing and duplicates no edited or human caption; the collection keeps its kind.
    expect(await importDataset(a.db, a.ws, 'coco', file)).toMatchObject({
      images: 9,
      captions: 91,
      added: 0,
    });
    expect(
      snapshot(a.db).filter((r) => !String((r as { rel_path: string }).rel_path).startsWith('stray')),
    ).toEqual(before);
    expect(findCollection(a.db, 1).kind).toBe('cub');
    expect(
      a.db.prepare("SELECT image_id, part FROM splits WHERE scheme = 'official' ORDER BY 1").all(),
    ).toEqual(officialA);
    a.db.close();
    b.db.close();
  });

  it('CSV: one row per image with path, class, split, review status and captions joined', async () => {
    const fx = await makeCub(2, 1);
    const a = home();
    await importDataset(a.db, a.ws, 'cub', fx.out);
    const cap = a.db.prepare('SELECT id FROM captions ORDER BY id LIMIT 1').get() as { id: number };
    reviseCaption(a.db, cap.id, 'says "hi", twice', 'human');
    const file = join(tempDir('csv'), 'out.csv');
    expect(exportCsv(a.db, [findCollection(a.db, 1)], file)).toEqual({ images: 2, captions: 20 });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe('collection,path,class,split,review_status,captions');
    expect(lines).toHaveLength(3);
    const split = (
      a.db.prepare("SELECT part FROM splits WHERE scheme = 'default' AND image_id = 1").get() as {
        part: string;
      }
    ).part;
    expect(lines[1]).toBe(
      `1,${join(fx.root, 'images', fx.images[0].rel)},${fx.classes[0]},${split},unreviewed,"says ""hi"", twice | ` +
        Array.from({ length: 9 }, (_, j) => `bird 1 of species A caption ${j + 2}`).join(' | ') +
        '"',
    );
    a.db.close();
  });

  it('CLI: import, stats, split --scheme paper, export coco, import coco into a fresh home', async () => {
    const fx = await makeCub(4, 3);
    const h1 = tempDir('cli1');
    const h2 = tempDir('cli2');
    const cli = (...args: string[]) =>
      JSON.parse(
        execFileSync(process.execPath, [join(repo, 'bin/plumage.js'), ...args, '--json'], {
          cwd: repo,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
    expect(cli('import', 'cub', fx.out, '--home', h1)).toMatchObject({
      images: 12,
      classes: 4,
      captions: 120,
    });
    const split = cli('split', '--scheme', 'paper', '--seed', '3', '--home', h1);
    const parts = Object.fromEntries(split.splits[0].parts.map((p: { part: string }) => [p.part, p]));
    expect(parts.caption_train).toEqual({ part: 'caption_train', classes: 3, images: 9 });
    expect(parts.caption_test).toEqual({ part: 'caption_test', classes: 1, images: 3 });
    expect(parts.train.images + parts.test.images).toBe(9); // official split within caption-train classes
    const stats = cli('stats', '--home', h1);
    expect(stats).toMatchObject({
      images: 12,
      classes: 4,
      captions: { total: 120, by_provenance: { imported: 120 } },
    });
    expect(stats.splits['paper-caption']).toEqual({ caption_test: 3, caption_train: 9 });
    const file = join(tempDir('cliexp'), 'x.json');
    expect(cli('export', 'coco', file, '--home', h1)).toMatchObject({
      images: 12,
      captions: 120,
      categories: 4,
    });
    expect(cli('import', 'coco', file, '--home', h2)).toMatchObject({
      images: 12,
      classes: 4,
      captions: 120,
      added: 12,
    });
  });
});
