import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importDataset } from '../../src-main/data/importers/index.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { MI, MX, MatWriter, cleanTemps, jpeg, tempDir, write } from './import-fixtures.ts';
import { SHARED_DIR } from '../helpers/shared.ts';

const shared = SHARED_DIR;
afterEach(cleanTemps);

function home() {
  const ws = workspace(tempDir('home'));
  return { ws, db: openDb(ws.dbPath) };
}

describe('import flowers', () => {
  it('reads labels from imagelabels.mat, the official split from setid.mat, names from cat_to_name.json', async () => {
    const root = tempDir('flowers');
    // 8 listed images (labels 1,1,2,2,3,3,1,2); only images 1–6 exist; image 9 exists but is not listed.
    const labels = [1, 1, 2, 2, 3, 3, 1, 2];
    for (let n = 1; n <= 6; n++) write(join(root, 'jpg', `image_0000${n}.jpg`), await jpeg(n));
    write(join(root, 'jpg', 'image_00009.jpg'), await jpeg(9));
    const w = new MatWriter();
    write(
      join(root, 'imagelabels.mat'),
      w.file(w.compressed(w.matrix('labels', MX.DOUBLE, [1, 8], MI.UINT8, labels))),
    );
    write(
      join(root, 'setid.mat'),
      w.file(
        w.compressed(w.matrix('trnid', MX.DOUBLE, [1, 3], MI.UINT16, [1, 3, 5])),
        w.compressed(w.matrix('valid', MX.DOUBLE, [1, 2], MI.UINT16, [2, 4])),
        w.compressed(w.matrix('tstid', MX.DOUBLE, [1, 3], MI.UINT16, [6, 7, 8])),
      ),
    );
    write(
      join(root, 'cat_to_name.json'),
      JSON.stringify({ 1: 'pink primrose', 2: 'hard-leaved pocket orchid' }),
    );
    // Reed-style captions for one image.
    write(
      join(root, 'text_c10', 'class_00002', 'image_00003.txt'),
      'petals are purple\nthe flower has a yellow center\n',
    );
    const { ws, db } = home();
    const r = await importDataset(db, ws, 'flowers', root);
    expect(r).toMatchObject({
      images: 7,
      classes: 3,
      captions: 2,
      added: 7,
      missing: 2,
      failed: 0,
      errors: [],
    });
    const rows = db
      .prepare(
        `SELECT i.file_name f, k.name c, s.part p FROM images i LEFT JOIN labels l ON l.image_id = i.id
           LEFT JOIN classes k ON k.id = l.class_id LEFT JOIN splits s ON s.image_id = i.id AND s.scheme = 'official'
          ORDER BY i.file_name`,
      )
      .all();
    expect(rows).toEqual([
      { f: 'image_00001.jpg', c: 'pink primrose', p: 'train' },
      { f: 'image_00002.jpg', c: 'pink primrose', p: 'val' },
      { f: 'image_00003.jpg', c: 'hard-leaved pocket orchid', p: 'train' },
      { f: 'image_00004.jpg', c: 'hard-leaved pocket orchid', p: 'val' },
      { f: 'image_00005.jpg', c: 'class 3', p: 'train' },
      { f: 'image_00006.jpg', c: 'class 3', p: 'test' },
      { f: 'image_00009.jpg', c: null, p: null },
    ]);
    expect((await importDataset(db, ws, 'flowers', root)).added).toBe(0);
    db.close();
  });

  it('falls back to imagelabels.txt and reports a corrupt .mat file', async () => {
    const root = tempDir('flowers-txt');
    for (let n = 1; n <= 3; n++) write(join(root, 'jpg', `image_0000${n}.jpg`), await jpeg(n));
    write(join(root, 'imagelabels.mat'), Buffer.from('<html>404 Not Found</html>'));
    write(
      join(root, 'imagelabels.txt'),
      '# comment\nimage_00001.jpg 5\nimage_00002.jpg 5\nbad line here\nimage_00003.jpg 7\n',
    );
    const { ws, db } = home();
    const r = await importDataset(db, ws, 'flowers', root);
    expect(r).toMatchObject({ images: 3, classes: 2, added: 3 });
    expect(r.errors.map((e) => e.path)).toEqual([join(root, 'imagelabels.mat'), 'imagelabels.txt:4']);
    expect(r.errors[0].reason).toMatch(/unreadable MAT-file/);
    db.close();
  });

  it('imports the 2,040 real Oxford-102 photos with labels; the other listed ones are counted as missing', async () => {
    const root = join(shared, 'ref-data/oxford-flowers-102');
    const { ws, db } = home();
    const r = await importDataset(db, ws, 'flowers', root);
    expect(r).toMatchObject({
      images: 2040,
      classes: 102,
      added: 2040,
      missing: 8189 - 2040,
      failed: 0,
      errors: [],
    });
    // Labels agree with the subset list shipped with the data.
    const expected = new Map(
      readFileSync(join(root, 'jpg_subset_list.txt'), 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => /^image_\d+\.jpg$/.test(f[0]))
        .map((f) => [f[0], f[1]]),
    );
    expect(expected.size).toBe(2040);
    const got = db
      .prepare(
        'SELECT i.file_name f, k.source_id s, k.name n FROM images i JOIN labels l ON l.image_id = i.id JOIN classes k ON k.id = l.class_id',
      )
      .all() as { f: string; s: string; n: string }[];
    expect(got).toHaveLength(2040);
    expect(got.filter((g) => expected.get(g.f) !== g.s)).toEqual([]);
    expect(got.find((g) => g.f === 'image_00001.jpg')!.n).toBe('passion flower');
    db.close();
  });
});
