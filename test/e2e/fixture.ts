/**
 * Test collections for the e2e specs.
 *  - `makeSynthCollection`: `plumage synth` + `plumage import cub`, as a user would.
 *  - `makeLargeCollection`: 12,000 rows for the performance spec; the files are hard links to a
 *    handful of real JPEGs and share content hashes, so thumbnails are made only once each.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { speciesName } from '../../src-renderer/src/lib/names.ts';
import { SHARED_ENCODER } from '../helpers/shared.ts';

export const SPECIES = [
  '001.Black_footed_Albatross',
  '002.Laysan_Albatross',
  '014.Indigo_Bunting',
  '017.Cardinal',
  '026.Bronzed_Cowbird',
  '029.American_Crow',
];
const REPO_ROOT = resolve(import.meta.dirname, '../..');
const COLOURS = ['#3b6ea5', '#c44536', '#2a9d8f', '#e9c46a', '#8e6c8a', '#5c8a3c'];

/** A small, recognisable picture: a coloured sky, a ground band and a "bird" ellipse. */
export async function drawPhoto(path: string, i: number, w = 320, h = 240): Promise<void> {
  const c = COLOURS[i % COLOURS.length];
  const x = 60 + ((i * 37) % 180);
  const y = 60 + ((i * 23) % 90);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#9cc3d9"/><stop offset="1" stop-color="#dfe9ef"/></linearGradient></defs>
    <rect width="${w}" height="${h}" fill="url(#g)"/>
    <rect y="${h * 0.72}" width="${w}" height="${h * 0.28}" fill="#6b7d4f"/>
    <ellipse cx="${x}" cy="${y}" rx="46" ry="28" fill="${c}"/>
    <circle cx="${x + 40}" cy="${y - 22}" r="16" fill="${c}"/>
    <polygon points="${x + 54},${y - 24} ${x + 72},${y - 20} ${x + 54},${y - 16}" fill="#f4a261"/>
    <circle cx="${x + 44}" cy="${y - 26}" r="3" fill="#111"/>
  </svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toFile(path);
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface SynthPhoto {
  id: number;
  fileName: string;
  relPath: string;
  classId: number;
  className: string;
  /** Captions in their order (the photo view edits the first). */
  captions: string[];
}

export interface SynthCollection {
  /** In gallery order (by path). */
  images: SynthPhoto[];
  classes: { id: number; name: string }[];
}

/** A species of the collection other than the photo's, with the name the app shows for it. */
export function anotherSpecies(fx: SynthCollection, photo: SynthPhoto): { id: number; name: string; label: string } {
  const other = fx.classes.find((c) => c.id !== photo.classId);
  if (!other) throw new Error('the fixture has one species only');
  return { ...other, label: speciesName(other.name) };
}

export function plumage(args: string[]): string {
  const r = spawnSync(process.execPath, ['bin/plumage.js', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plumage ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * A synthetic collection made the way a user would: `plumage synth` (CUB-200-2011 layout with
 * text_c10 captions) then `plumage import cub`; what was imported is read back from the database.
 */
export function makeSynthCollection(home: string, species = 4, perSpecies = 24): SynthCollection {
  const out = join(home, 'synth');
  plumage(['synth', '--out', out, '--species', String(species), '--per-species', String(perSpecies), '--size', '128', '--seed', '5', '--json']);
  const report = JSON.parse(plumage(['--home', home, 'import', 'cub', out, '--json']));
  if (report.images !== species * perSpecies) throw new Error(`import gave ${JSON.stringify(report)}`);
  const db = new Database(workspace(home).dbPath, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT i.id, i.file_name, i.rel_path, l.class_id, k.name AS class_name
         FROM images i JOIN labels l ON l.image_id = i.id JOIN classes k ON k.id = l.class_id ORDER BY i.rel_path`,
      )
      .all() as { id: number; file_name: string; rel_path: string; class_id: number; class_name: string }[];
    const caps = db.prepare('SELECT text FROM captions WHERE image_id = ? AND deleted = 0 ORDER BY ord');
    const images = rows.map((r) => ({
      id: r.id,
      fileName: r.file_name,
      relPath: r.rel_path,
      classId: r.class_id,
      className: r.class_name,
      captions: (caps.all(r.id) as { text: string }[]).map((c) => c.text),
    }));
    const classes = db.prepare('SELECT id, name FROM classes ORDER BY name').all() as { id: number; name: string }[];
    return { images, classes };
  } finally {
    db.close();
  }
}

/** Words of a caption as a full-text index sees them. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * A search word that hits some photos but not most, and the photos whose captions contain a word
 * starting with it (the gallery search treats the last word as a prefix) — computed here from the
 * caption texts, independently of the app's FTS index.
 */
export function pickSearchWord(images: SynthPhoto[]): { word: string; hits: Set<string> } {
  const byWord = new Map<string, Set<string>>();
  for (const im of images) for (const c of im.captions) for (const w of words(c)) {
    if (w.length < 5) continue;
    if (!byWord.has(w)) byWord.set(w, new Set());
  }
  const candidates = [...byWord.keys()].sort();
  let best: { word: string; hits: Set<string> } | null = null;
  for (const w of candidates) {
    const hits = new Set(images.filter((im) => im.captions.some((c) => words(c).some((x) => x.startsWith(w)))).map((im) => im.fileName));
    const share = hits.size / images.length;
    if (share >= 0.1 && share <= 0.5 && (!best || hits.size > best.hits.size)) best = { word: w, hits };
  }
  if (!best) throw new Error('no suitable search word in the synthetic captions');
  return best;
}

/** `n` gallery rows (default 12,000) over `distinct` real JPEGs, linked under unique names. */
export async function makeLargeCollection(home: string, n = 12_000, distinct = 8): Promise<{ root: string; count: number }> {
  const ws = workspace(home);
  const root = join(home, 'big');
  const src = join(home, 'big-src');
  mkdirSync(root, { recursive: true });
  mkdirSync(src, { recursive: true });
  const originals: { path: string; hash: string; bytes: number; mtimeMs: number }[] = [];
  for (let i = 0; i < distinct; i++) {
    const p = join(src, `o${i}.jpg`);
    await drawPhoto(p, i * 5 + 1);
    // True hash, size and time, as an import stores them (the image routes compare them).
    originals.push({ path: p, hash: sha256(p), bytes: statSync(p).size, mtimeMs: Math.round(statSync(p).mtimeMs) });
  }
  const db = openDb(ws.dbPath);
  try {
    db.transaction(() => {
      const cid = Number(db.prepare("INSERT INTO collections(name, root, kind) VALUES ('Big', ?, 'folder')").run(root).lastInsertRowid);
      const classIds = SPECIES.map((s) => Number(db.prepare('INSERT INTO classes(collection_id, name) VALUES (?, ?)').run(cid, s).lastInsertRowid));
      const ins = db.prepare(
        `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
         VALUES (?, ?, ?, ?, ?, ?, 320, 240)`,
      );
      const lab = db.prepare("INSERT INTO labels(image_id, class_id, provenance) VALUES (?, ?, 'imported')");
      for (let i = 0; i < n; i++) {
        const o = originals[i % distinct];
        const name = `bird_${String(i).padStart(5, '0')}.jpg`;
        linkSync(o.path, join(root, name));
        const id = Number(ins.run(cid, name, name, o.hash, o.bytes, o.mtimeMs).lastInsertRowid);
        lab.run(id, classIds[i % classIds.length]);
      }
    })();
  } finally {
    db.close();
  }
  writeFileSync(join(home, 'large-fixture.txt'), `${n}\n`);
  return { root, count: n };
}

export const ENCODER_PATH = SHARED_ENCODER;

/**
 * A small synthetic collection with a trained joint model, made with the CLI as a user would:
 * synth + import cub (4 species × 6 photos at 96 px), extract with the local MobileNetV2 copy,
 * then one epoch of the cam variant at the small dimensions (about 20 s on 2 busy cores).
 */
export function makeTrainedCollection(home: string): SynthCollection & { runId: string } {
  const out = join(home, 'synth');
  plumage(['synth', '--out', out, '--species', '4', '--per-species', '6', '--size', '96', '--seed', '7', '--json']);
  plumage(['--home', home, 'import', 'cub', out, '--json']);
  plumage(['--home', home, 'extract', '--encoder-path', ENCODER_PATH, '--json']);
  const train = JSON.parse(
    lastLine(plumage(['--home', home, 'train', '--variant', 'cam', '--epochs', '1', '--dims', 'small', '--encoder-path', ENCODER_PATH, '--seed', '1', '--json'])),
  ) as { run: string; status: string };
  if (train.status !== 'done') throw new Error(`train gave ${JSON.stringify(train)}`);
  const db = new Database(workspace(home).dbPath, { readonly: true });
  try {
    const images = (
      db
        .prepare(
          `SELECT i.id, i.file_name, i.rel_path, l.class_id, k.name AS class_name
           FROM images i JOIN labels l ON l.image_id = i.id JOIN classes k ON k.id = l.class_id ORDER BY i.rel_path`,
        )
        .all() as { id: number; file_name: string; rel_path: string; class_id: number; class_name: string }[]
    ).map((r) => ({ id: r.id, fileName: r.file_name, relPath: r.rel_path, classId: r.class_id, className: r.class_name, captions: [] }));
    const classes = db.prepare('SELECT id, name FROM classes ORDER BY name').all() as { id: number; name: string }[];
    return { images, classes, runId: train.run };
  } finally {
    db.close();
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1];
}

/** A flat folder of `n` new synthetic photos (not in any collection) for batch captioning. */
export async function makePhotoFolder(dir: string, n = 20): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `field_${String(i).padStart(2, '0')}.jpg`;
    await drawPhoto(join(dir, name), i, 128, 96);
    names.push(name);
  }
  return names;
}

/**
 * A finished, evaluated run written straight into the database (no training): every photo is
 * predicted as the next species, and the stored evaluation holds the matching confusion matrix of
 * the default split's test part. Enough for screens that only read a run (toolbar layout, chips).
 */
export function addEvaluatedRun(home: string, id = 'r-fixture'): string {
  const db = new Database(workspace(home).dbPath);
  try {
    const classes = db.prepare('SELECT id, name FROM classes ORDER BY name').all() as { id: number; name: string }[];
    const photos = db
      .prepare(
        `SELECT i.id, l.class_id AS classId, i.collection_id AS collectionId,
                (SELECT part FROM splits s WHERE s.image_id = i.id AND s.scheme = 'default') AS part
           FROM images i JOIN labels l ON l.image_id = i.id ORDER BY i.id`,
      )
      .all() as { id: number; classId: number; collectionId: number; part: string | null }[];
    const at = new Map(classes.map((c, i) => [c.id, i]));
    const predicted = (classId: number) => classes[(at.get(classId)! + 1) % classes.length].id;
    const matrix = classes.map(() => classes.map(() => 0));
    for (const p of photos) if (p.part === 'test') matrix[at.get(p.classId)!][at.get(predicted(p.classId))!]++;
    const metrics = {
      run: id,
      split: { scheme: 'default', part: 'test' },
      top1: 0,
      per_class: classes.map((c, i) => ({ class_id: c.id, name: c.name, n: matrix[i].reduce((a, b) => a + b, 0), correct: 0, top1: 0 })),
      confusion: { classes: classes.map((c) => c.name), matrix },
      worst: [],
      cam_examples: [],
    };
    db.prepare(
      `INSERT INTO runs (id, collection_id, variant, encoder, backend, config, dataset_version, status, metrics)
       VALUES (?, ?, 'cam', 'fixture', 'wasm', '{"epochs":3}', 'fixture', 'done', ?)`,
    ).run(id, photos[0].collectionId, JSON.stringify(metrics));
    const ins = db.prepare('INSERT INTO predictions (run_id, image_id, class_id, confidence, disagreement) VALUES (?, ?, ?, 0.5, 0.5)');
    for (const p of photos) ins.run(id, p.id, predicted(p.classId));
  } finally {
    db.close();
  }
  return id;
}
