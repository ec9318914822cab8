/**
 * Test collections for the e2e specs, written straight into a workspace with the data layer
 * (store + annotations, so histories are real) and sharp-generated JPEGs.
 *  - `makeSmallCollection`: a few dozen distinct photos with species, captions and EXIF-free files.
 *  - `makeLargeCollection`: 12,000 rows for the performance spec; the files are hard links to a
 *    handful of real JPEGs and share content hashes, so thumbnails are made only once each.
 */
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDb } from '../../src-main/data/store.ts';
import { addCaption, setLabel } from '../../src-main/data/annotations.ts';
import { workspace } from '../../src-main/data/workspace.ts';

export const SPECIES = [
  '001.Black_footed_Albatross',
  '002.Laysan_Albatross',
  '014.Indigo_Bunting',
  '017.Cardinal',
  '026.Bronzed_Cowbird',
  '029.American_Crow',
];
const COLOURS = ['#3b6ea5', '#c44536', '#2a9d8f', '#e9c46a', '#8e6c8a', '#5c8a3c'];
const WORDS = ['albatross', 'albatross', 'bunting', 'cardinal', 'cowbird', 'crow'];

/** A small, recognisable picture: a coloured sky, a ground band and a "bird" ellipse. */
async function drawPhoto(path: string, i: number, w = 320, h = 240): Promise<void> {
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

export interface SmallCollection {
  root: string;
  collectionId: number;
  images: { id: number; fileName: string; relPath: string; caption: string; classId: number }[];
  classIds: number[];
}

/** `n` distinct photos over the six species, each with one imported caption. */
export async function makeSmallCollection(home: string, n = 30): Promise<SmallCollection> {
  const ws = workspace(home);
  const root = join(home, 'photos');
  mkdirSync(root, { recursive: true });
  const files: { rel: string; name: string; cls: number }[] = [];
  for (let i = 0; i < n; i++) {
    const cls = i % SPECIES.length;
    const dir = join(root, SPECIES[cls]);
    mkdirSync(dir, { recursive: true });
    const name = `${SPECIES[cls].split('.')[1]}_${String(i + 1).padStart(4, '0')}.jpg`;
    await drawPhoto(join(dir, name), i);
    files.push({ rel: `${SPECIES[cls]}/${name}`, name, cls });
  }
  const db = openDb(ws.dbPath);
  try {
    return db.transaction(() => {
      const collectionId = Number(
        db.prepare("INSERT INTO collections(name, root, kind) VALUES ('Fixture birds', ?, 'folder')").run(root).lastInsertRowid,
      );
      const classIds = SPECIES.map((s, k) =>
        Number(db.prepare('INSERT INTO classes(collection_id, name, source_id) VALUES (?, ?, ?)').run(collectionId, s, String(k + 1)).lastInsertRowid),
      );
      const ins = db.prepare(
        `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
         VALUES (?, ?, ?, ?, ?, ?, 320, 240)`,
      );
      const images: SmallCollection['images'] = [];
      files.forEach((f, i) => {
        const abs = join(root, f.rel);
        const st = statSync(abs);
        const id = Number(ins.run(collectionId, f.rel, f.name, sha256(abs), st.size, Math.round(st.mtimeMs)).lastInsertRowid);
        setLabel(db, id, classIds[f.cls], 'imported');
        const caption = `a small ${WORDS[f.cls]} perched on a branch number ${i + 1}`;
        addCaption(db, id, caption, 'imported');
        images.push({ id, fileName: f.name, relPath: f.rel, caption, classId: classIds[f.cls] });
      });
      return { root, collectionId, images, classIds };
    })();
  } finally {
    db.close();
  }
}

/** `n` gallery rows (default 12,000) over `distinct` real JPEGs, linked under unique names. */
export async function makeLargeCollection(home: string, n = 12_000, distinct = 8): Promise<{ root: string; count: number }> {
  const ws = workspace(home);
  const root = join(home, 'big');
  const src = join(home, 'big-src');
  mkdirSync(root, { recursive: true });
  mkdirSync(src, { recursive: true });
  const originals: { path: string; hash: string; bytes: number }[] = [];
  for (let i = 0; i < distinct; i++) {
    const p = join(src, `o${i}.jpg`);
    await drawPhoto(p, i * 5 + 1);
    originals.push({ path: p, hash: sha256(p), bytes: statSync(p).size });
  }
  const db = openDb(ws.dbPath);
  try {
    db.transaction(() => {
      const cid = Number(db.prepare("INSERT INTO collections(name, root, kind) VALUES ('Big', ?, 'folder')").run(root).lastInsertRowid);
      const classIds = SPECIES.map((s) => Number(db.prepare('INSERT INTO classes(collection_id, name) VALUES (?, ?)').run(cid, s).lastInsertRowid));
      const ins = db.prepare(
        `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
         VALUES (?, ?, ?, ?, ?, 0, 320, 240)`,
      );
      const lab = db.prepare("INSERT INTO labels(image_id, class_id, provenance) VALUES (?, ?, 'imported')");
      for (let i = 0; i < n; i++) {
        const o = originals[i % distinct];
        const name = `bird_${String(i).padStart(5, '0')}.jpg`;
        linkSync(o.path, join(root, name));
        const id = Number(ins.run(cid, name, name, o.hash, o.bytes).lastInsertRowid);
        lab.run(id, classIds[i % classIds.length]);
      }
    })();
  } finally {
    db.close();
  }
  writeFileSync(join(home, 'large-fixture.txt'), `${n}\n`);
  return { root, count: n };
}
