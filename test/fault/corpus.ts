import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import * as img from './images.ts';

/**
 * Generates the fault suite's bad-input corpus into a folder: photos of every bad kind beside good
 * ones, odd names, symlink loops and escapes, broken caption files, malformed CUB and COCO
 * metadata and broken workspace databases. Each case says what must happen to it; the fault test
 * runs the corpus through import, caption decoding and the api.
 * Run on its own: `node --import tsx test/fault/corpus.ts OUT_DIR` (prints the case count).
 */

export type Route = 'folder' | 'cub' | 'coco' | 'db';

export interface FaultCase {
  name: string;
  route: Route;
  /** Must be kept (imported / opened), or refused with a clear one-line reason. */
  good: boolean;
  /** Where its reason is reported (error path suffix), for import routes. */
  path: string;
  /** Whether batch captioning decodes this file too (content cases of the folder route). */
  decode?: boolean;
}

export interface Corpus {
  dir: string;
  folder: string;
  cocoDir: string;
  cubRoot: string;
  cases: FaultCase[];
}

function put(path: string, data: string | Uint8Array) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

type Maker = () => Promise<Buffer | string> | Buffer | string;

const GOOD_PHOTOS: [string, Maker][] = [
  ['good/a.jpg', () => img.goodJpeg(1)],
  ['good/b.jpg', () => img.goodJpeg(2)],
  ['good/c.jpeg', () => img.goodJpeg(3)],
  ['good/d.png', () => img.goodPng(4)],
  ['good/alpha.png', () => img.alphaPng(5)],
  ['good/sixteen-bit.png', () => img.sixteenBitPng(6)],
  ['good/cmyk.jpg', () => img.cmykJpeg(7)],
  ['good/e.webp', () => img.goodWebp(8)],
  ['good/f.tif', () => img.goodTiff(9)],
  ['good/grey.png', () => img.greyPng(10)],
  ['good/animated.gif', () => img.animatedGif(11)],
  ['good/png-named.jpg', () => img.goodPng(12)],
];

const BAD_PHOTOS: [string, Maker][] = [
  ['bad/zero.jpg', () => Buffer.alloc(0)],
  ['bad/truncated.jpg', () => img.truncated(20)],
  ['bad/garbage.jpg', () => Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919 + 13) % 256))],
  ['bad/text.jpg', () => 'this is not a photo\nbut a note\n'],
  ['bad/svg.jpg', () => img.SVG],
  ['bad/svg.png', () => img.SVG],
  ['bad/huge-header.png', () => img.headerOnlyPng(100_000, 100_000)],
  ['bad/over-limit.png', () => img.headerOnlyPng(20_000, 20_000)],
  ['bad/jpeg-magic-only.jpg', () => Buffer.from([0xff, 0xd8, 0xff])],
  ['bad/png-signature-only.png', () => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ['bad/webp-junk.webp', () => Buffer.concat([Buffer.from('RIFF\x10\0\0\0WEBPVP8 '), Buffer.alloc(40, 7)])],
  ['bad/gif-header-only.gif', () => 'GIF89a'],
  ['bad/nul-bytes.png', () => Buffer.alloc(500)],
  ['bad/truncated.png', async () => (await img.goodPng(21)).subarray(0, 60)],
  ['bad/html.jpeg', () => '<!doctype html><script>alert(1)</script>'],
  ['bad/photo.psd', () => '8BPS garbage'],
  ['bad/photo.heic', () => Buffer.from('\0\0\0\x18ftypheic')],
  ['bad/notes.docx', () => 'PK\x03\x04'],
  ['bad/orphan.txt', () => 'a caption without a photo'],
];

async function writeFolder(folder: string, outside: string, cases: FaultCase[]) {
  for (const [rel, make] of GOOD_PHOTOS) {
    put(join(folder, rel), await make());
    cases.push({ name: `good photo ${rel}`, route: 'folder', good: true, path: rel, decode: true });
  }
  for (const [rel, make] of BAD_PHOTOS) {
    put(join(folder, rel), await make());
    const decode = /\.(jpe?g|png|gif|webp)$/.test(rel);
    cases.push({ name: `bad photo ${rel}`, route: 'folder', good: false, path: rel, decode });
  }
  const odd: [string, string][] = [
    ['names/line\nbreak.jpg', 'newline in name'],
    ['names/carriage\rreturn.jpg', 'CR in name'],
    ['names/back\\slash.jpg', 'backslash in name'],
    ['names/tab\there.jpg', 'tab in name'],
  ];
  for (const [rel, what] of odd) {
    put(join(folder, rel), await img.goodJpeg(30 + odd.length));
    cases.push({ name: what, route: 'folder', good: false, path: rel });
  }
  put(join(folder, 'names', 'ünïcödé 鳥.jpg'), await img.goodJpeg(40));
  cases.push({ name: 'unicode name', route: 'folder', good: true, path: 'names/ünïcödé 鳥.jpg' });
  put(join(folder, 'names', 'space name.jpg'), await img.goodJpeg(41));
  cases.push({ name: 'space in name', route: 'folder', good: true, path: 'names/space name.jpg' });
  put(join(outside, 'secret.jpg'), await img.goodJpeg(42));
  mkdirSync(join(folder, 'links'), { recursive: true });
  symlinkSync(join(outside, 'secret.jpg'), join(folder, 'links', 'escape.jpg'));
  symlinkSync(join(folder, 'links', 'nowhere.jpg'), join(folder, 'links', 'dangling.jpg'));
  symlinkSync(join(folder, 'links', 'loop-b.jpg'), join(folder, 'links', 'loop-a.jpg'));
  symlinkSync(join(folder, 'links', 'loop-a.jpg'), join(folder, 'links', 'loop-b.jpg'));
  symlinkSync(join(folder, 'good', 'a.jpg'), join(folder, 'links', 'inside.jpg'));
  symlinkSync(outside, join(folder, 'links', 'outside-dir'));
  mkdirSync(join(folder, 'links', 'dir.jpg'));
  cases.push(
    { name: 'symlink escape', route: 'folder', good: false, path: 'links/escape.jpg' },
    { name: 'dangling symlink', route: 'folder', good: false, path: 'links/dangling.jpg' },
    { name: 'symlink loop', route: 'folder', good: false, path: 'links/loop-a.jpg' },
    { name: 'symlink loop (other end)', route: 'folder', good: false, path: 'links/loop-b.jpg' },
    { name: 'symlink inside', route: 'folder', good: true, path: 'links/inside.jpg' },
    { name: 'folder named .jpg', route: 'folder', good: false, path: 'links/dir.jpg' },
  );
  const captions: [string, string | Buffer][] = [
    ['binary', Buffer.from('a red bird\0\0\0with nulls')],
    ['too-long', `a fine caption\n${'x'.repeat(10_001)}\n`],
    ['not-text', Buffer.from(Array.from({ length: 400 }, (_, i) => 0x80 + (i % 60)))],
  ];
  for (const [stem, text] of captions) {
    put(join(folder, 'captions', `${stem}.jpg`), await img.goodJpeg(50 + stem.length));
    put(join(folder, 'captions', `${stem}.txt`), text);
    cases.push({ name: `caption file ${stem}`, route: 'folder', good: false, path: `captions/${stem}.txt` });
  }
}

async function writeCub(root: string, cases: FaultCase[]) {
  const rels = ['001.A/a1.jpg', '001.A/a2.jpg', '002.B/b1.jpg', '002.B/b2.jpg'];
  for (const [i, rel] of rels.entries()) put(join(root, 'images', rel), await img.goodJpeg(60 + i));
  put(join(root, 'classes.txt'), '1 001.A\n2 002.B\n');
  put(join(root, 'images.txt'), `1 001.A/a1.jpg\n2 001.A/a2.jpg\n3 002.B/b1.jpg\n4 002.B/b2.jpg\nnonsense\n2 001.A/a2.jpg\n9 002.B/missing.jpg\n`);
  put(join(root, 'image_class_labels.txt'), '1 1\n2 1\n3 2\n4 7\nx y z\n');
  put(join(root, 'train_test_split.txt'), '1 1\n2 0\n3 banana\n');
  put(join(root, 'bounding_boxes.txt'), '1 1 2 3\n2 0 0 10 10\n');
  put(join(root, 'parts', 'parts.txt'), '1 crown\nbad\n');
  put(join(root, 'parts', 'part_locs.txt'), '1 1 5 5 1\n1 99 5 5 1\n');
  const bad: [string, string][] = [
    ['images.txt:5', 'malformed images.txt line'],
    ['images.txt:6', 'duplicate image id'],
    ['image_class_labels.txt:4', 'unknown class id'],
    ['image_class_labels.txt:5', 'malformed label line'],
    ['train_test_split.txt:3', 'malformed split line'],
    ['bounding_boxes.txt:1', 'malformed bounding box'],
    ['parts/parts.txt:2', 'malformed part'],
    ['parts/part_locs.txt:2', 'unknown part id'],
  ];
  for (const [path, name] of bad) cases.push({ name: `CUB ${name}`, route: 'cub', good: false, path });
  for (const rel of rels.slice(0, 3)) cases.push({ name: `CUB good ${rel}`, route: 'cub', good: true, path: `images/${rel}` });
}

async function writeCoco(dir: string, cases: FaultCase[]) {
  put(join(dir, 'p1.jpg'), await img.goodJpeg(70));
  put(join(dir, 'p2.jpg'), await img.goodJpeg(71));
  const whole: [string, string][] = [
    ['not-json.json', '{"images": [ {"id": 1, '],
    ['array.json', '[1, 2, 3]'],
    ['no-images.json', '{"annotations": []}'],
    ['empty.json', ''],
    ['binary.json', '\0\0\0\0'],
  ];
  for (const [file, text] of whole) {
    put(join(dir, file), text);
    cases.push({ name: `COCO ${file}`, route: 'coco', good: false, path: file });
  }
  put(
    join(dir, 'partly.json'),
    JSON.stringify({
      images: [
        { id: 1, file_name: 'p1.jpg', category_id: 1 },
        { id: 2, file_name: 'p2.jpg', category_id: 42 },
        { id: 3 },
        { id: 4, file_name: '../../etc/passwd' },
        { id: 1, file_name: 'p1.jpg' },
      ],
      annotations: [{ image_id: 1, caption: 'a bird' }, { image_id: 1 }, { image_id: 2, caption: 'y'.repeat(50_000) }, null],
      categories: [{ id: 1, name: 'Wren' }],
    }),
  );
  const partly: [string, string][] = [
    ['partly.json#images[1]', 'unknown category'],
    ['partly.json#images[2]', 'image without file_name'],
    ['partly.json#images[3]', 'file_name escaping the folder'],
    ['partly.json#images[4]', 'duplicate image id'],
    ['partly.json#annotations[1]', 'annotation without caption'],
    ['partly.json#annotations[2]', 'caption over the limit'],
    ['partly.json#annotations[3]', 'null annotation'],
  ];
  for (const [path, name] of partly) cases.push({ name: `COCO ${name}`, route: 'coco', good: false, path });
  cases.push({ name: 'COCO good p1', route: 'coco', good: true, path: 'p1.jpg' });
}

function writeDatabases(dir: string, cases: FaultCase[]) {
  put(join(dir, 'garbage', 'plumage.db'), Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 31) % 251)));
  const future = join(dir, 'future', 'plumage.db');
  mkdirSync(dirname(future), { recursive: true });
  const db = new Database(future);
  db.exec('CREATE TABLE t(x)');
  db.pragma('user_version = 999');
  db.close();
  put(join(dir, 'header-only', 'plumage.db'), Buffer.from('SQLite format 3\0'));
  mkdirSync(join(dir, 'is-a-folder', 'plumage.db'), { recursive: true });
  for (const name of ['garbage', 'future', 'header-only', 'is-a-folder'])
    cases.push({ name: `database ${name}`, route: 'db', good: false, path: join(dir, name) });
}

/** Writes the whole corpus under `dir` (which must be empty or absent). */
export async function generateCorpus(dir: string): Promise<Corpus> {
  const cases: FaultCase[] = [];
  const folder = join(dir, 'folder');
  const cocoDir = join(dir, 'coco');
  const cubRoot = join(dir, 'cub');
  await writeFolder(folder, join(dir, 'outside'), cases);
  await writeCub(cubRoot, cases);
  await writeCoco(cocoDir, cases);
  writeDatabases(join(dir, 'db'), cases);
  return { dir, folder, cocoDir, cubRoot, cases };
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node --import tsx test/fault/corpus.ts OUT_DIR\n');
    process.exit(2);
  }
  generateCorpus(resolve(out)).then((c) => process.stdout.write(`${c.cases.length} cases in ${c.dir}\n`));
}
