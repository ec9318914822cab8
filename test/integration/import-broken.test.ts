import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset, type ImportResult } from '../../src-main/data/importers/index.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace, type Workspace } from '../../src-main/data/workspace.ts';
import { headerOnlyPng } from '../fault/images.ts';
import { cleanTemps, jpeg, makeCub, tempDir, write } from './import-fixtures.ts';

/** A noisy JPEG large enough that cutting it in half loses scanlines. */
function noisyJpeg(): Promise<Buffer> {
  const raw = Buffer.alloc(96 * 96 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width: 96, height: 96, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

let root: string;
let ws: Workspace;
let db: Db;
let first: ImportResult;
let second: ImportResult;
const reasonOf = (r: ImportResult, rel: string) =>
  r.errors.filter((e) => e.path === join(root, rel)).map((e) => e.reason);

beforeAll(async () => {
  root = tempDir('broken');
  const ok = (rel: string, seed: number) => jpeg(seed).then((b) => write(join(root, rel), b));
  // Good photos, including unicode and space paths, one with captions, one with an empty caption file.
  await ok('Robin/good 1.jpg', 1);
  write(join(root, 'Robin/good 1.txt'), 'a small bird with a red breast\n\nperched on a branch\n');
  await ok('Rotkehlchen ü/Vogel é 2.jpg', 2);
  await ok('Wren/no captions.jpg', 3); // missing caption file: fine
  await ok('Wren/empty captions.jpg', 4);
  write(join(root, 'Wren/empty captions.txt'), '');
  await ok('Wren/fffd.jpg', 5);
  write(join(root, 'Wren/fffd.txt'), 'this\ufffd\ufffdbird has\u0007 a   brown back\n\ufffd\n');
  await ok('Wren/junk captions.jpg', 6);
  write(
    join(root, 'Wren/junk captions.txt'),
    Buffer.from([0x62, 0x69, 0x72, 0x64, 0, 0xff, 0xfe, 0x00, 0x13, 0x88, 0xc3]),
  );
  // Broken photos.
  const good = await noisyJpeg();
  const corrupt = Buffer.from(good);
  corrupt.fill(0x5a, 200, 2000); // scramble the entropy-coded data and tables
  write(join(root, 'Bad/corrupt.jpg'), corrupt);
  write(join(root, 'Bad/truncated.jpg'), good.subarray(0, Math.floor(good.length / 2)));
  write(join(root, 'Bad/zero.jpg'), Buffer.alloc(0));
  write(
    join(root, 'Bad/pdf.jpg'),
    Buffer.concat([Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'), Buffer.alloc(300, 0x9c)]),
  );
  write(join(root, 'Bad/text.jpg'), 'this is just a text file pretending to be a photo\n'.repeat(5));
  write(join(root, 'Bad/layers.psd'), Buffer.concat([Buffer.from('8BPS'), Buffer.alloc(100, 1)]));
  write(
    join(root, 'Bad/phone.heic'),
    Buffer.concat([Buffer.from('\0\0\0\x18ftypheic', 'latin1'), Buffer.alloc(100, 2)]),
  );
  mkdirSync(join(root, 'Bad/folder.jpg'), { recursive: true });
  symlinkSync(join(root, 'Bad/does-not-exist.jpg'), join(root, 'Bad/dangling.jpg'));
  symlinkSync(join(root, 'Bad/loop-b.jpg'), join(root, 'Bad/loop-a.jpg'));
  symlinkSync(join(root, 'Bad/loop-a.jpg'), join(root, 'Bad/loop-b.jpg'));
  write(join(root, 'Bad/huge.png'), headerOnlyPng(100_000, 100_000)); // a decompression bomb if decoded
  write(join(root, 'Bad/notes.txt'), 'a stray text file\n');
  write(join(root, 'Bad/report.docx'), 'PK\x03\x04 not a photo');
  symlinkSync(root, join(root, 'Bad/up')); // a link back to the root: must not be followed

  ws = workspace(tempDir('broken-home'));
  db = openDb(ws.dbPath);
  first = await importDataset(db, ws, 'folder', root);
  second = await importDataset(db, ws, 'folder', root);
});
afterAll(() => {
  db?.close();
  cleanTemps();
});

describe('broken input: folder import', () => {
  it('imports every good file (unicode and space paths included) and reports the counts', () => {
    expect(first).toMatchObject({ images: 6, added: 6, failed: 12, classes: 3 });
    const paths = (
      db.prepare('SELECT rel_path FROM images ORDER BY rel_path').all() as { rel_path: string }[]
    ).map((r) => r.rel_path);
    expect(paths).toEqual([
      'Robin/good 1.jpg',
      'Rotkehlchen ü/Vogel é 2.jpg',
      'Wren/empty captions.jpg',
      'Wren/fffd.jpg',
      'Wren/junk captions.jpg',
      'Wren/no captions.jpg',
    ]);
    const cls = db
      .prepare(
        "SELECT k.name FROM images i JOIN labels l ON l.image_id = i.id JOIN classes k ON k.id = l.class_id WHERE i.rel_path LIKE 'Rotk%'",
      )
      .get();
    expect(cls).toEqual({ name: 'Rotkehlchen ü' });
  });

  const cases: [string, RegExp][] = [
    // sharp's words without the libvips detail, which differs from call to call
    ['Bad/corrupt.jpg', /^(corrupt or truncated image|not a decodable image \([^:()]*\))/],
    ['Bad/truncated.jpg', /corrupt or truncated/],
    ['Bad/zero.jpg', /empty file/],
    ['Bad/pdf.jpg', /not a decodable image/],
    ['Bad/text.jpg', /text file/],
    ['Bad/layers.psd', /unsupported image format \.psd/],
    ['Bad/phone.heic', /unsupported image format \.heic/],
    ['Bad/folder.jpg', /is a directory/],
    ['Bad/dangling.jpg', /broken symbolic link/],
    ['Bad/loop-a.jpg', /symbolic link loop/],
    ['Bad/loop-b.jpg', /symbolic link loop/],
    ['Bad/huge.png', /too large: 100000×100000/],
    ['Bad/notes.txt', /text file without a matching photo/],
    ['Bad/report.docx', /not an image/],
    ['Bad/up', /symbolic link to a folder: not followed/],
    ['Wren/junk captions.txt', /binary/],
  ];
  for (const [rel, reason] of cases) {
    it(`lists ${rel} with a reason`, () => {
      const reasons = reasonOf(first, rel);
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(reason);
    });
  }

  it('lists nothing else', () => {
    expect(first.errors.map((e) => e.path).sort()).toEqual(cases.map(([rel]) => join(root, rel)).sort());
  });

  it('cleans captions: U+FFFD and control characters stripped, empty lines skipped; junk and empty files give none', () => {
    const caps = (rel: string) =>
      (
        db
          .prepare(
            'SELECT c.text FROM captions c JOIN images i ON i.id = c.image_id WHERE i.rel_path = ? ORDER BY c.ord',
          )
          .all(rel) as {
          text: string;
        }[]
      ).map((c) => c.text);
    expect(caps('Robin/good 1.jpg')).toEqual(['a small bird with a red breast', 'perched on a branch']);
    expect(caps('Wren/fffd.jpg')).toEqual(['thisbird has a brown back']);
    expect(caps('Wren/junk captions.jpg')).toEqual([]);
    expect(caps('Wren/empty captions.jpg')).toEqual([]);
    expect(caps('Wren/no captions.jpg')).toEqual([]);
  });

  it('a rerun works: nothing added, the same problems listed', () => {
    expect(second).toMatchObject({ images: 6, added: 0, unchanged: 6, failed: 12, captions: first.captions });
    expect(second.errors).toEqual(first.errors);
  });
});

describe('broken input: CUB metadata', () => {
  it('lists malformed lines with line numbers, unknown classes, duplicate ids and missing files', async () => {
    const fx = await makeCub(2, 2);
    write(
      join(fx.root, 'images.txt'),
      [
        `1 ${fx.images[0].rel}`,
        'garbage-without-id',
        `2 ${fx.images[1].rel}`,
        `2 ${fx.images[2].rel}`, // duplicate id
        `3 ${fx.images[2].rel}`,
        `4 ${fx.images[3].rel}`,
        '5 001.Species_A/not_there.jpg',
      ].join('\n'),
    );
    write(join(fx.root, 'image_class_labels.txt'), '1 1\n2 1\n3 99\n4 two\n5 1\n');
    write(join(fx.root, 'bounding_boxes.txt'), '1 1 2 3 4\n2 x y\n');
    const ws2 = workspace(tempDir('cubbad-home'));
    const db2 = openDb(ws2.dbPath);
    const r = await importDataset(db2, ws2, 'cub', fx.out);
    const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e.reason]));
    expect(byPath['images.txt:2']).toMatch(/malformed line 'garbage-without-id'/);
    expect(byPath['images.txt:4']).toMatch(/duplicate image id 2 \(first on line 3\)/);
    expect(byPath['image_class_labels.txt:3']).toMatch(/unknown class id 99/);
    expect(byPath['image_class_labels.txt:4']).toMatch(/malformed line/);
    expect(byPath['bounding_boxes.txt:2']).toMatch(/malformed line/);
    expect(byPath[join(fx.root, 'images/001.Species_A/not_there.jpg')]).toBe('listed but not found');
    expect(r).toMatchObject({ images: 4, added: 4, missing: 1, failed: 0 });
    expect(r.errors).toHaveLength(6);
    // Images with an unknown or malformed class are imported without a label.
    expect(db2.prepare('SELECT count(*) n FROM labels').get()).toEqual({ n: 2 });
    db2.close();
  });

  it('never half-writes an image: a failure inside one image rolls back all of it', async () => {
    const fx = await makeCub(1, 3);
    // The first image of the class: its transaction also creates the class, which must roll back too.
    write(join(fx.out, 'text_c10', fx.images[0].rel.replace(/\.jpg$/, '.txt')), 'fine caption\nBOOM\n');
    const ws3 = workspace(tempDir('atomic-home'));
    const db3 = openDb(ws3.dbPath);
    // Simulate a failure half-way through writing image 1 (after its row and label).
    db3.exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON captions WHEN new.text = 'BOOM'
              BEGIN SELECT RAISE(ABORT, 'simulated crash'); END`);
    const r = await importDataset(db3, ws3, 'cub', fx.out);
    expect(r).toMatchObject({ images: 2, added: 2, failed: 1 });
    expect(r.errors[0]).toEqual({
      path: join(fx.root, 'images', fx.images[0].rel),
      reason: 'not written: simulated crash',
    });
    expect(db3.prepare("SELECT id FROM images WHERE source_id = '1'").get()).toBeUndefined();
    expect(db3.prepare('SELECT count(*) n FROM labels').get()).toEqual({ n: 2 });
    expect(db3.prepare('SELECT count(*) n FROM part_locations').get()).toEqual({ n: 6 });
    expect(db3.prepare("SELECT count(*) n FROM captions WHERE text = 'fine caption'").get()).toEqual({
      n: 0,
    });
    // Once the cause is gone, a rerun completes the collection.
    db3.exec('DROP TRIGGER boom');
    expect(await importDataset(db3, ws3, 'cub', fx.out)).toMatchObject({
      images: 3,
      added: 1,
      failed: 0,
      captions: 22,
    });
    db3.close();
  });
});
