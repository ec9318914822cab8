import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { addCaption, setLabel } from '../../src-main/data/annotations.ts';
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
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .png()
    .toBuffer();
  const captions = ['a red bird with a black face', 'a blue bird with white wings', 'a small red bird on a branch'];
  const imageIds: number[] = [];
  const insert = db.prepare(
    `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
     VALUES (?, ?, ?, ?, ?, 0, 8, 8)`,
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const sub = i % 2 === 0 ? 'a' : 'b';
      const name = `img${String(i).padStart(5, '0')}.png`;
      const id = Number(
        insert.run(collectionId, `${sub}/${name}`, name, `${String(i).padStart(8, '0')}`.repeat(8), png.length).lastInsertRowid,
      );
      imageIds.push(id);
      setLabel(db, id, classIds[i % 2], 'imported');
      if (i < captions.length) addCaption(db, id, captions[i], 'imported');
      if (i % 2 === 0) db.prepare("INSERT INTO splits(scheme, image_id, part) VALUES ('default', ?, 'train')").run(id);
    }
  })();
  db.close();
  if (opts.files !== false) {
    const { writeFileSync } = await import('node:fs');
    for (let i = 0; i < n; i++) {
      writeFileSync(join(root, i % 2 === 0 ? 'a' : 'b', `img${String(i).padStart(5, '0')}.png`), png);
    }
  }
  return { dir, home, root, collectionId, classIds, imageIds, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
