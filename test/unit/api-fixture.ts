import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { addCaption, setLabel } from '../../src-main/data/annotations.ts';
import { sha256 } from '../../src-main/data/hashing.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';

/**
 * A tiny workspace for api/serve tests: one collection of `n` real PNG files (8×8) in two classes,
 * the first three with captions, half in the 'train' split. Rows are written directly because the
 * importers are tested on their own.
 */
export interface Fixture {
  dir: string;
  home: string;
  root: string;
  collectionId: number;
  classIds: number[];
  imageIds: number[];
  cleanup(): void;
}

/** An 8×8 PNG whose bytes differ with `i`. */
function tinyPng(i: number): Promise<Buffer> {
  return sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: i % 256 } } })
    .png()
    .toBuffer();
}

export async function makeFixture(n = 6, opts: { files?: boolean; extraRows?: number } = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'plumage-api-'));
  const home = join(dir, 'home');
  const root = join(dir, 'photos');
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'b'), { recursive: true });
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  const collectionId = Number(
    db.prepare("INSERT INTO collections(name, root, kind) VALUES ('birds', ?, 'folder')").run(root).lastInsertRowid,
  );
  const classIds = ['Cardinal', 'Blue Jay'].map((name) =>
    Number(db.prepare('INSERT INTO classes(collection_id, name) VALUES (?, ?)').run(collectionId, name).lastInsertRowid),
  );
  const captions = ['a red bird with a black face', 'a blue bird with white wings', 'a small red bird on a branch'];
  const imageIds: number[] = [];
  // With files, the rows hold their true hash, size and time, as an import would (the image routes
  // compare them); without, one PNG's size and a distinct made-up hash per row.
  const files: { rel: string; name: string; hash: string; bytes: number; mtimeMs: number }[] = [];
  const plain = await tinyPng(0);
  for (let i = 0; i < n; i++) {
    const name = `img${String(i).padStart(5, '0')}.png`;
    const rel = `${i % 2 === 0 ? 'a' : 'b'}/${name}`;
    if (opts.files === false) {
      files.push({ rel, name, hash: sha256(`row ${i}`), bytes: plain.length, mtimeMs: 0 });
      continue;
    }
    const png = await tinyPng(i);
    writeFileSync(join(root, rel), png);
    files.push({ rel, name, hash: sha256(png), bytes: png.length, mtimeMs: Math.round(statSync(join(root, rel)).mtimeMs) });
  }
  const insert = db.prepare(
    `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
     VALUES (?, ?, ?, ?, ?, ?, 8, 8)`,
  );
  db.transaction(() => {
    files.forEach((f, i) => {
      const id = Number(insert.run(collectionId, f.rel, f.name, f.hash, f.bytes, f.mtimeMs).lastInsertRowid);
      imageIds.push(id);
      setLabel(db, id, classIds[i % 2], 'imported');
      if (i < captions.length) addCaption(db, id, captions[i], 'imported');
      if (i % 2 === 0) db.prepare("INSERT INTO splits(scheme, image_id, part) VALUES ('default', ?, 'train')").run(id);
    });
  })();
  db.close();
  return { dir, home, root, collectionId, classIds, imageIds, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
