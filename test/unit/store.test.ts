import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src-main/data/migrations.ts';
import { migrate, openDb, schemaVersion } from '../../src-main/data/store.ts';
import { addCaption, reviseCaption, setLabel } from '../../src-main/data/annotations.ts';
import { queryImages } from '../../src-main/data/queries.ts';

const dirs: string[] = [];
function tmp() {
  const d = mkdtempSync(join(tmpdir(), 'plumage-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('store migrations', () => {
  const latest = MIGRATIONS[MIGRATIONS.length - 1].version;

  it('migrates an empty database file to the latest version with WAL and foreign keys', () => {
    const db = openDb(join(tmp(), 'a.db'));
    expect(schemaVersion(db)).toBe(latest);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  for (const from of MIGRATIONS.map((m) => m.version - 1)) {
    it(`migrates from v${from} to the latest`, () => {
      const path = join(tmp(), `v${from}.db`);
      const old = new Database(path);
      migrate(old, MIGRATIONS, from);
      expect(schemaVersion(old)).toBe(from);
      old.close();
      const db = openDb(path);
      expect(schemaVersion(db)).toBe(latest);
      expect(db.prepare("SELECT count(*) n FROM sqlite_master WHERE name = 'captions_fts'").get()).toEqual({ n: 1 });
      db.close();
    });
  }

  it("rebuilding runs for the 'interrupted' status keeps every run and every row that points at one", () => {
    const path = join(tmp(), 'v3.db');
    const old = new Database(path);
    old.pragma('foreign_keys = ON');
    migrate(old, MIGRATIONS, 3);
    old.exec(`
      INSERT INTO collections(id, name, root, kind) VALUES (1, 'c', '/x', 'folder');
      INSERT INTO images(id, collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
        VALUES (1, 1, 'a.jpg', 'a.jpg', 'h', 1, 0, 10, 10);
      INSERT INTO runs(id, variant, encoder, backend, config, dataset_version, status) VALUES ('r1', 'cam', 'e', 'cpu', '{}', 'v', 'done');
      INSERT INTO runs(id, variant, encoder, backend, config, dataset_version, status, parent_run) VALUES ('r2', 'cam', 'e', 'cpu', '{}', 'v', 'running', 'r1');
      INSERT INTO predictions(run_id, image_id) VALUES ('r1', 1);
      INSERT INTO batch_jobs(id, folder, run_id, status) VALUES (1, '/f', 'r1', 'done');`);
    expect(() => old.prepare("UPDATE runs SET status = 'interrupted' WHERE id = 'r2'").run()).toThrow(/CHECK/);
    old.close();
    const db = openDb(path);
    db.prepare("UPDATE runs SET status = 'interrupted' WHERE id = 'r2'").run();
    expect(db.prepare('SELECT id, status, parent_run FROM runs ORDER BY id').all()).toEqual([
      { id: 'r1', status: 'done', parent_run: null },
      { id: 'r2', status: 'interrupted', parent_run: 'r1' },
    ]);
    expect(db.prepare('SELECT count(*) n FROM predictions').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) n FROM batch_jobs').get()).toEqual({ n: 1 });
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    // still cascades: deleting the run deletes its predictions
    db.prepare("DELETE FROM runs WHERE id = 'r1'").run();
    expect(db.prepare('SELECT count(*) n FROM predictions').get()).toEqual({ n: 0 });
    db.close();
  });

  it("adding the photos' file status keeps every photo, marks it ok, and accepts only the known states", () => {
    const path = join(tmp(), 'v5.db');
    const old = new Database(path);
    migrate(old, MIGRATIONS, 5);
    old.exec(`
      INSERT INTO collections(id, name, root, kind) VALUES (1, 'c', '/x', 'folder');
      INSERT INTO images(id, collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height, review_status)
        VALUES (1, 1, 'a.jpg', 'a.jpg', 'h1', 1, 0, 10, 10, 'accepted'), (2, 1, 'b.jpg', 'b.jpg', 'h2', 1, 0, 10, 10, 'unreviewed');`);
    expect(() => old.prepare('SELECT file_status FROM images').all()).toThrow(/no such column/);
    old.close();
    const db = openDb(path);
    expect(db.prepare('SELECT id, review_status, file_status FROM images ORDER BY id').all()).toEqual([
      { id: 1, review_status: 'accepted', file_status: 'ok' },
      { id: 2, review_status: 'unreviewed', file_status: 'ok' },
    ]);
    db.prepare("UPDATE images SET file_status = 'changed' WHERE id = 2").run();
    expect(() => db.prepare("UPDATE images SET file_status = 'gone' WHERE id = 1").run()).toThrow(/CHECK/);
    expect(queryImages(db, { fileStatus: 'changed' }).items.map((i) => [i.id, i.fileStatus])).toEqual([[2, 'changed']]);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('several processes opening one new workspace at once migrate it once, and none fails', async () => {
    const path = join(tmp(), 'shared.db');
    const store = pathToFileURL(join(import.meta.dirname, '../../src-main/data/store.ts')).href;
    const startAt = Date.now() + 2_000; // every process opens the file at the same moment
    const code = `const { openDb } = await import(${JSON.stringify(store)});
      while (Date.now() < ${startAt}) await new Promise((r) => setTimeout(r, 5));
      openDb(${JSON.stringify(path)}).close();`;
    const run = () =>
      new Promise<{ code: number | null; err: string }>((done) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        p.on('close', (c) => done({ code: c, err }));
      });
    const results = await Promise.all(Array.from({ length: 6 }, run));
    expect(results.map((r) => r.err.split('\n').find((l) => /Error/.test(l)) ?? '')).toEqual(results.map(() => ''));
    expect(results.map((r) => r.code)).toEqual(results.map(() => 0));
    const db = openDb(path);
    expect(schemaVersion(db)).toBe(latest);
    db.close();
  }, 60_000);

  it('refuses a database from a newer Plumage', () => {
    const path = join(tmp(), 'new.db');
    const d = new Database(path);
    d.pragma(`user_version = ${latest + 1}`);
    d.close();
    expect(() => openDb(path)).toThrow(/newer than this Plumage/);
  });
});

describe('annotations', () => {
  function seeded() {
    const db = openDb(join(tmp(), 's.db'));
    db.prepare("INSERT INTO collections(id, name, root, kind) VALUES (1, 'c', '/x', 'folder')").run();
    db.prepare("INSERT INTO classes(id, collection_id, name) VALUES (1, 1, 'Robin'), (2, 1, 'Wren')").run();
    db.prepare(
      `INSERT INTO images(id, collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
       VALUES (1, 1, 'a/b.jpg', 'b.jpg', 'h', 1, 0, 10, 10)`,
    ).run();
    return db;
  }

  it('keeps every caption revision and finds captions by full-text search', () => {
    const db = seeded();
    const id = addCaption(db, 1, 'a small bird with a red crown', 'imported');
    expect(reviseCaption(db, id, 'a small bird with a blue crown', 'human')).toBe('a small bird with a red crown');
    const revs = db.prepare('SELECT text FROM caption_revisions WHERE caption_id = ? ORDER BY id').all(id);
    expect(revs).toEqual([{ text: 'a small bird with a red crown' }, { text: 'a small bird with a blue crown' }]);
    const hit = (q: string) => db.prepare('SELECT rowid FROM captions_fts WHERE captions_fts MATCH ?').all(q);
    expect(hit('blue')).toEqual([{ rowid: id }]);
    expect(hit('red')).toEqual([]);
    db.close();
  });

  it('a caption search shows the caption that matched, not the first one', () => {
    const db = seeded();
    addCaption(db, 1, 'a grey bird on a wire', 'imported');
    addCaption(db, 1, 'the crown is bright yellow', 'imported');
    expect(queryImages(db, {}).items[0].caption).toBe('a grey bird on a wire');
    expect(queryImages(db, { search: 'yellow' }).items.map((i) => i.caption)).toEqual(['the crown is bright yellow']);
    db.close();
  });

  it('an id list narrows a query to those photos, with the other filters applied to them', () => {
    const db = seeded();
    db.prepare(
      `INSERT INTO images(id, collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height, review_status)
       VALUES (2, 1, 'a/c.jpg', 'c.jpg', 'h2', 1, 0, 10, 10, 'accepted'), (3, 1, 'a/d.jpg', 'd.jpg', 'h3', 1, 0, 10, 10, 'unreviewed')`,
    ).run();
    const ids = (q: Parameters<typeof queryImages>[1]) => queryImages(db, q).items.map((i) => i.id);
    expect(ids({ ids: [3, 2] })).toEqual([2, 3]);
    expect(ids({ ids: [3, 2], reviewStatus: 'unreviewed' })).toEqual([3]);
    expect(queryImages(db, { ids: [3, 2], reviewStatus: 'fixed' }).total).toBe(0);
    expect(ids({ ids: [] })).toEqual([]);
    db.close();
  });

  it('records label history and returns the previous label', () => {
    const db = seeded();
    expect(setLabel(db, 1, 1, 'imported')).toBeNull();
    expect(setLabel(db, 1, 2, 'human')).toBe(1);
    expect(db.prepare('SELECT class_id, provenance FROM labels').all()).toEqual([{ class_id: 2, provenance: 'human' }]);
    expect(db.prepare('SELECT count(*) n FROM label_history').get()).toEqual({ n: 2 });
    expect(() => setLabel(db, 1, 99, 'human')).toThrow(/FOREIGN KEY/);
    db.close();
  });
});
