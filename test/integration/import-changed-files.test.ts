import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../src-main/data/importers/index.ts';
import { setLabel } from '../../src-main/data/annotations.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace, type Workspace } from '../../src-main/data/workspace.ts';
import { cleanTemps, jpeg, tempDir, write } from './import-fixtures.ts';

/** A re-import notices photos whose files changed or went missing since the first import. */

let db: Db;
let ws: Workspace;
let root: string;

const row = (name: string) =>
  db.prepare('SELECT id, content_hash, file_status FROM images WHERE file_name = ?').get(name) as {
    id: number;
    content_hash: string;
    file_status: string;
  };

beforeAll(async () => {
  const dir = tempDir('changed');
  root = join(dir, 'photos');
  for (const [i, name] of ['damaged.jpg', 'replaced.jpg', 'deleted.jpg', 'same.jpg'].entries())
    write(join(root, 'wren', name), await jpeg(i + 1));
  ws = workspace(join(dir, 'home'));
  db = openDb(ws.dbPath);
  await importDataset(db, ws, 'folder', root);
});
afterAll(() => {
  db?.close();
  cleanTemps();
});

describe('re-import after files changed on disk', () => {
  it('marks a damaged file changed (keeping the row, its hash and its label), a deleted one missing, and takes a replaced valid photo', async () => {
    const before = { damaged: row('damaged.jpg'), replaced: row('replaced.jpg'), same: row('same.jpg') };
    const human = db.prepare("SELECT id FROM classes WHERE name = 'wren'").get() as { id: number };
    setLabel(db, before.damaged.id, human.id, 'human');
    writeFileSync(join(root, 'wren', 'damaged.jpg'), 'this is no longer a photo');
    writeFileSync(join(root, 'wren', 'replaced.jpg'), await jpeg(99));
    rmSync(join(root, 'wren', 'deleted.jpg'));

    const again = await importDataset(db, ws, 'folder', root);
    expect(again.errors.find((e) => e.path.endsWith('damaged.jpg'))?.reason).toBeTruthy();
    expect(again.updated).toBe(1);
    expect(row('damaged.jpg')).toEqual({ ...before.damaged, file_status: 'changed' });
    expect(db.prepare('SELECT provenance FROM labels WHERE image_id = ?').get(before.damaged.id)).toEqual({
      provenance: 'human',
    });
    expect(row('replaced.jpg').file_status).toBe('ok');
    expect(row('replaced.jpg').content_hash).not.toBe(before.replaced.content_hash);
    expect(row('deleted.jpg').file_status).toBe('missing');
    expect(row('same.jpg')).toEqual(before.same);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('a later import with the files restored marks them ok again', async () => {
    write(join(root, 'wren', 'damaged.jpg'), await jpeg(50));
    write(join(root, 'wren', 'deleted.jpg'), await jpeg(3));
    await importDataset(db, ws, 'folder', root);
    expect(row('damaged.jpg').file_status).toBe('ok');
    expect(row('deleted.jpg').file_status).toBe('ok');
  });
});
