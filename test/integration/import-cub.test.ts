import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reviseCaption, setLabel } from '../../src-main/data/annotations.ts';
import { importDataset, runImport } from '../../src-main/data/importers/index.ts';
import { openDb } from '../../src-main/data/store.ts';
import { thumbnailPath } from '../../src-main/data/thumbnails.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { cleanTemps, jpeg, makeCub, tempDir } from './import-fixtures.ts';
import { SHARED_DIR } from '../helpers/shared.ts';

const repo = resolve(import.meta.dirname, '../..');
const shared = SHARED_DIR;
afterEach(cleanTemps);

function home() {
  const ws = workspace(tempDir('home'));
  return { ws, db: openDb(ws.dbPath) };
}

describe('import cub', () => {
  it('imports a CUB-layout fixture with labels, captions, boxes, parts and the official split; a rerun adds nothing', async () => {
    const fx = await makeCub(3, 4);
    const { ws, db } = home();
    const r = await importDataset(db, ws, 'cub', fx.out);
    expect(r).toMatchObject({
      images: 12,
      classes: 3,
      captions: 120,
      added: 12,
      missing: 0,
      failed: 0,
      errors: [],
    });
    expect(r.root).toBe(fx.root);
    const row = db
      .prepare(
        `SELECT i.rel_path, i.width, i.height, i.bbox_w, k.name, length(i.content_hash) hl FROM images i
           JOIN labels l ON l.image_id = i.id JOIN classes k ON k.id = l.class_id WHERE i.source_id = '5'`,
      )
      .get();
    expect(row).toEqual({
      rel_path: `images/${fx.images[4].rel}`,
      width: 32,
      height: 24,
      bbox_w: 20,
      name: fx.classes[1],
      hl: 64,
    });
    expect(db.prepare('SELECT count(*) n FROM part_locations').get()).toEqual({ n: 36 });
    expect(
      db
        .prepare("SELECT part, count(*) n FROM splits WHERE scheme = 'official' GROUP BY part ORDER BY part")
        .all(),
    ).toEqual([
      { part: 'test', n: 6 },
      { part: 'train', n: 6 },
    ]);
    // A default split (seed 0) exists right after the import.
    expect(db.prepare("SELECT count(*) n FROM splits WHERE scheme = 'default'").get()).toEqual({ n: 12 });

    const again = await importDataset(db, ws, 'cub', fx.out);
    expect(again).toMatchObject({
      images: 12,
      classes: 3,
      captions: 120,
      added: 0,
      updated: 0,
      unchanged: 12,
    });
    expect(db.prepare('SELECT count(*) n FROM caption_revisions').get()).toEqual({ n: 120 });
    expect(db.prepare('SELECT count(*) n FROM label_history').get()).toEqual({ n: 12 });
    db.close();
  });

  it('--thumbnails makes one cached thumbnail per imported photo', async () => {
    const fx = await makeCub(2, 2);
    const { ws, db } = home();
    const r = await importDataset(db, ws, 'cub', fx.out, { thumbnails: true });
    expect(r).toMatchObject({ images: 4, errors: [] });
    const hashes = db.prepare('SELECT content_hash h FROM images').all() as { h: string }[];
    for (const { h } of hashes) expect(existsSync(thumbnailPath(ws, h))).toBe(true);
    db.close();
  });

  it('runImport (the api job entry) reports progress and stops cleanly when cancelled', async () => {
    const fx = await makeCub(2, 3);
    const { ws, db } = home();
    const ac = new AbortController();
    const seen: number[] = [];
    const r = await runImport(db, ws, {
      kind: 'cub',
      path: fx.out,
      signal: ac.signal,
      progress: (done, total) => {
        seen.push(done);
        expect(total).toBe(6);
        if (done === 2) ac.abort();
      },
    });
    expect(seen).toEqual([1, 2]);
    expect(r).toMatchObject({ images: 2, added: 2, captions: 20, cancelled: true });
    // Resuming is just importing again.
    expect(await runImport(db, ws, { kind: 'cub', path: fx.out })).toMatchObject({
      images: 6,
      added: 4,
      captions: 60,
    });
    db.close();
  });

  it('updates a changed file, keeps human labels and edited captions, replaces unedited imported captions', async () => {
    const fx = await makeCub(2, 2);
    const { ws, db } = home();
    await importDataset(db, ws, 'cub', fx.out);
    const id = (n: number) =>
      (db.prepare('SELECT id FROM images WHERE source_id = ?').get(String(n)) as { id: number }).id;
    const hashBefore = db.prepare('SELECT content_hash h FROM images WHERE id = ?').get(id(1));
    // A curator relabels image 2 and edits its first caption.
    const otherClass = (db.prepare('SELECT id FROM classes ORDER BY id DESC LIMIT 1').get() as { id: number })
      .id;
    setLabel(db, id(2), otherClass, 'human');
    const cap = db.prepare('SELECT id FROM captions WHERE image_id = ? ORDER BY ord LIMIT 1').get(id(2)) as {
      id: number;
    };
    reviseCaption(db, cap.id, 'a curator wrote this', 'human');
    // The dataset changes: image 1 gets new bytes, image 2's captions are rewritten.
    writeFileSync(join(fx.root, 'images', fx.images[0].rel), await jpeg(99, 40, 30));
    const capFile = join(fx.out, 'text_c10', fx.images[1].rel.replace(/\.jpg$/, '.txt'));
    writeFileSync(capFile, 'a brand new caption\nanother new caption\n');

    const r = await importDataset(db, ws, 'cub', fx.out);
    expect(r).toMatchObject({ images: 4, added: 0, updated: 1, unchanged: 3 });
    expect(db.prepare('SELECT content_hash h FROM images WHERE id = ?').get(id(1))).not.toEqual(hashBefore);
    expect(db.prepare('SELECT width, height FROM images WHERE id = ?').get(id(1))).toEqual({
      width: 40,
      height: 30,
    });
    expect(db.prepare('SELECT class_id, provenance FROM labels WHERE image_id = ?').get(id(2))).toEqual({
      class_id: otherClass,
      provenance: 'human',
    });
    const texts = (
      db.prepare('SELECT text FROM captions WHERE image_id = ? AND deleted = 0 ORDER BY ord').all(id(2)) as {
        text: string;
      }[]
    ).map((t) => t.text);
    expect(texts).toEqual(['a curator wrote this', 'a brand new caption', 'another new caption']);
    // Nothing is lost: the replaced captions are soft-deleted with their history.
    expect(
      db.prepare('SELECT count(*) n FROM captions WHERE image_id = ? AND deleted = 1').get(id(2)),
    ).toEqual({ n: 9 });
    db.close();
  });

  it('imports the 282 real CUB photos with 10 raw captions each; listed-but-absent images are counted, not listed', async () => {
    const { ws, db } = home();
    const r = await importDataset(db, ws, 'cub', join(shared, 'ref-data/cub-200-2011/CUB_200_2011'), {
      captions: join(shared, 'ref-data/cub-200-2011/text_c10'),
    });
    expect(r).toMatchObject({
      images: 282,
      classes: 5,
      captions: 2820,
      added: 282,
      missing: 11788 - 282,
      failed: 0,
    });
    expect(r.errors.length).toBe(21);
    expect(r.errors[20].reason).toMatch(/11486 more listed images not found/);
    const perImage = db.prepare('SELECT count(*) n FROM captions GROUP BY image_id HAVING n <> 10').all();
    expect(perImage).toEqual([]);
    // The five files with U+FFFD in the Reed captions come out clean.
    expect(db.prepare('SELECT count(*) n FROM captions WHERE instr(text, char(65533)) > 0').get()).toEqual({
      n: 0,
    });
    expect(db.prepare('SELECT count(*) n FROM part_locations').get()).toEqual({ n: 282 * 15 });
    expect(db.prepare("SELECT count(*) n FROM splits WHERE scheme = 'official'").get()).toEqual({ n: 282 });
    db.close();
  });

  it('CLI: --json prints the contract fields, a second run adds nothing', () => {
    return (async () => {
      const fx = await makeCub(2, 3);
      const h = tempDir('clihome');
      const cli = () =>
        JSON.parse(
          execFileSync(
            process.execPath,
            [join(repo, 'bin/plumage.js'), 'import', 'cub', fx.out, '--home', h, '--json'],
            {
              cwd: repo,
              encoding: 'utf8',
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          ),
        );
      const first = cli();
      expect(first).toMatchObject({ images: 6, classes: 2, captions: 60, added: 6, errors: [] });
      const second = cli();
      expect(second).toMatchObject({ images: 6, classes: 2, captions: 60, added: 0, errors: [] });
    })();
  });
});
