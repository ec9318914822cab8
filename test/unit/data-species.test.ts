import { afterEach, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { collectionTotals, ensureClass } from '../../src-main/data/collections.ts';
import { workspaceStats } from '../../src-main/data/stats.ts';
import { redo, setLabels, undo } from '../../src-main/data/edits.ts';
import { listClasses } from '../../src-main/data/queries.ts';
import { createSpecies, mergeSpecies, renameSpecies } from '../../src-main/data/species.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import type { ClassInfo } from '../../shared/types.ts';
import { invokeOk } from '../helpers/invoke.ts';
import { makeFixture, type Fixture } from './api-fixture.ts';

/** The Species manager's data functions and api channels on a real SQLite workspace. */

let fx: Fixture | null = null;
let db: Db | null = null;
let api: PlumageApi | null = null;
afterEach(() => {
  db?.close();
  api?.close();
  fx?.cleanup();
  db = api = fx = null;
});

/** Six photos: even ones 'Cardinal' (classIds[0]), odd ones 'Blue Jay' (classIds[1]), labels imported. */
async function setup() {
  fx = await makeFixture(6, { files: false });
  db = openDb(workspace(fx.home).dbPath);
  return { fx, db };
}

const labelsOf = (db: Db, imageIds: number[]) =>
  imageIds.map(
    (id) =>
      db.prepare('SELECT class_id, provenance FROM labels WHERE image_id = ?').get(id) as {
        class_id: number;
        provenance: string;
      },
  );
const species = (db: Db, collectionId: number) =>
  listClasses(db, collectionId).map((c) => ({ name: c.name, displayName: c.displayName, count: c.count }));

describe('species data functions', () => {
  it('renames a species by its display name, keeps the raw id, and undoes/redoes it as one edit', async () => {
    const { fx, db } = await setup();
    const [cardinal] = fx.classIds;
    expect(renameSpecies(db, cardinal, '  Northern Cardinal ')).toMatchObject({
      id: cardinal,
      name: 'Cardinal',
      displayName: 'Northern Cardinal',
      count: 3,
    });
    expect(undo(db)).toEqual({ undone: true, imageIds: [] });
    expect(listClasses(db, fx.collectionId).find((c) => c.id === cardinal)?.displayName).toBeNull();
    redo(db);
    expect(listClasses(db, fx.collectionId).find((c) => c.id === cardinal)?.displayName).toBe(
      'Northern Cardinal',
    );
  });

  it('a rename back to the name the raw id reads as clears the display name; the same name changes nothing', async () => {
    const { fx, db } = await setup();
    const [cardinal] = fx.classIds;
    renameSpecies(db, cardinal, 'Red bird');
    expect(renameSpecies(db, cardinal, 'Cardinal').displayName).toBeNull();
    const journalled = (db.prepare('SELECT count(*) n FROM edits').get() as { n: number }).n;
    renameSpecies(db, cardinal, 'Cardinal');
    expect((db.prepare('SELECT count(*) n FROM edits').get() as { n: number }).n).toBe(journalled);
  });

  it('refuses a name another species already reads as (case and spacing aside), and an empty name', async () => {
    const { fx, db } = await setup();
    const [cardinal, jay] = fx.classIds;
    expect(() => renameSpecies(db, cardinal, 'blue  jay')).toThrow(/already a species called 'Blue Jay'/);
    expect(() => createSpecies(db, fx.collectionId, 'CARDINAL')).toThrow(
      /already a species called 'Cardinal'/,
    );
    renameSpecies(db, jay, 'Blue-crested Jay');
    expect(() => createSpecies(db, fx.collectionId, 'blue crested jay')).toThrow(/already a species/);
    expect(() => renameSpecies(db, cardinal, '   ')).toThrow(/needs a name/);
  });

  it('CUB ids read as their display names when checking for a clash', async () => {
    const { fx, db } = await setup();
    ensureClass(db, fx.collectionId, '001.Black_footed_Albatross', '1');
    expect(() => createSpecies(db, fx.collectionId, 'Black-footed Albatross')).toThrow(
      /already a species called 'Black-footed Albatross'/,
    );
  });

  it('creates an empty species; undo hides it, redo brings back the same row', async () => {
    const { fx, db } = await setup();
    const robin = createSpecies(db, fx.collectionId, 'Robin');
    expect(robin).toMatchObject({ name: 'Robin', displayName: null, count: 0 });
    undo(db);
    expect(species(db, fx.collectionId).map((s) => s.name)).toEqual(['Blue Jay', 'Cardinal']);
    redo(db);
    expect(listClasses(db, fx.collectionId).find((c) => c.name === 'Robin')?.id).toBe(robin.id);
    // creating a name whose row is hidden brings that row back rather than failing on the unique raw id
    undo(db);
    expect(createSpecies(db, fx.collectionId, 'Robin').id).toBe(robin.id);
  });

  it('creates a species and labels photos with it as one edit: one undo takes both away, one redo brings both back', async () => {
    const { fx, db } = await setup();
    const [first, second] = fx.imageIds;
    const before = labelsOf(db, [first, second]);
    const robin = createSpecies(db, fx.collectionId, 'Robin', [first, second]);
    expect(robin).toMatchObject({ name: 'Robin', count: 2 });
    expect(labelsOf(db, [first, second])).toEqual([
      { class_id: robin.id, provenance: 'human' },
      { class_id: robin.id, provenance: 'human' },
    ]);
    expect(undo(db).imageIds.sort()).toEqual([first, second].sort());
    expect(labelsOf(db, [first, second])).toEqual(before);
    expect(species(db, fx.collectionId).map((s) => s.name)).toEqual(['Blue Jay', 'Cardinal']);
    expect(undo(db).undone).toBe(false); // nothing else was journalled
    redo(db);
    expect(species(db, fx.collectionId).find((s) => s.name === 'Robin')?.count).toBe(2);
    expect(labelsOf(db, [first, second]).map((l) => l.class_id)).toEqual([robin.id, robin.id]);
  });

  it('a species with photos of another collection is refused whole: no species, no label, nothing journalled', async () => {
    const { fx, db } = await setup();
    const other = Number(
      db.prepare("INSERT INTO collections(name, root, kind) VALUES ('b', '/elsewhere', 'folder')").run()
        .lastInsertRowid,
    );
    expect(() => createSpecies(db, other, 'Robin', [fx.imageIds[0]])).toThrow(/not in the collection of image/);
    expect(() => createSpecies(db, fx.collectionId, 'Robin', [999])).toThrow(/no image 999/);
    expect(listClasses(db).some((c) => c.name === 'Robin')).toBe(false);
    expect((db.prepare('SELECT count(*) n FROM edits').get() as { n: number }).n).toBe(0);
  });

  it('merges A into B: all labels move with their provenance, A disappears; undo restores both exactly', async () => {
    const { fx, db } = await setup();
    const [cardinal, jay] = fx.classIds;
    setLabels(db, [fx.imageIds[0]], jay); // a human fix: now 2 cardinals, 4 jays
    const before = labelsOf(db, fx.imageIds);
    expect(mergeSpecies(db, cardinal, jay)).toEqual({ moved: 2 });
    expect(species(db, fx.collectionId)).toEqual([{ name: 'Blue Jay', displayName: null, count: 6 }]);
    expect(collectionTotals(db, fx.collectionId).classes).toBe(1);
    expect(workspaceStats(db).classes).toBe(1);
    expect(labelsOf(db, fx.imageIds).map((l) => l.class_id)).toEqual(new Array(6).fill(jay));
    expect(labelsOf(db, [fx.imageIds[2]])[0].provenance).toBe('imported');
    // the merge is one action: one undo brings everything back, the earlier fix stays
    expect(undo(db).imageIds.sort()).toEqual([fx.imageIds[2], fx.imageIds[4]].sort());
    expect(labelsOf(db, fx.imageIds)).toEqual(before);
    expect(species(db, fx.collectionId).map((s) => [s.name, s.count])).toEqual([
      ['Blue Jay', 4],
      ['Cardinal', 2],
    ]);
    redo(db);
    expect(species(db, fx.collectionId).map((s) => s.name)).toEqual(['Blue Jay']);
    // history is kept: the merge appended to label_history, nothing was deleted
    const history = db
      .prepare('SELECT class_id FROM label_history WHERE image_id = ? ORDER BY id')
      .all(fx.imageIds[2]);
    expect(history).toEqual([
      { class_id: cardinal },
      { class_id: jay },
      { class_id: cardinal },
      { class_id: jay },
    ]);
  });

  it('refuses merging a species into itself, into a merged one, or across collections', async () => {
    const { fx, db } = await setup();
    const [cardinal, jay] = fx.classIds;
    expect(() => mergeSpecies(db, cardinal, cardinal)).toThrow(/into itself/);
    const other = Number(
      db.prepare("INSERT INTO collections(name, root, kind) VALUES ('b', '/elsewhere', 'folder')").run()
        .lastInsertRowid,
    );
    const foreign = createSpecies(db, other, 'Robin');
    expect(() => mergeSpecies(db, cardinal, foreign.id)).toThrow(/different collections/);
    mergeSpecies(db, cardinal, jay);
    expect(() => mergeSpecies(db, jay, cardinal)).toThrow(/merged or removed/);
    expect(() => renameSpecies(db, cardinal, 'x')).toThrow(/merged or removed/);
    expect(() => mergeSpecies(db, 999, jay)).toThrow(/no species 999/);
  });

  it('a label set to a merged species (an older run suggesting it) and a re-import land on the species it became', async () => {
    const { fx, db } = await setup();
    const [cardinal, jay] = fx.classIds;
    mergeSpecies(db, cardinal, jay);
    expect(setLabels(db, [fx.imageIds[1]], cardinal)).toBe(1);
    expect(labelsOf(db, [fx.imageIds[1]])[0]).toEqual({ class_id: jay, provenance: 'human' });
    expect(ensureClass(db, fx.collectionId, 'Cardinal', null)).toBe(jay);
  });
});

describe('species api channels', () => {
  async function start() {
    fx = await makeFixture(4, { files: false });
    api = createApi({ home: fx.home, log: () => {} });
    return { fx, api };
  }

  it('create, rename, merge and undo through the api, each pushing a refresh', async () => {
    const { fx, api } = await start();
    const pushes: number[][] = [];
    api.on('images:changed', (m) => pushes.push(m.imageIds));
    const robin = await invokeOk<ClassInfo>(api, 'species:create', {
      collectionId: fx.collectionId,
      name: 'Robin',
    });
    expect(robin).toMatchObject({ name: 'Robin', count: 0, displayName: null });
    const renamed = await invokeOk<ClassInfo>(api, 'species:rename', {
      classId: fx.classIds[0],
      name: 'Northern Cardinal',
    });
    expect(renamed.displayName).toBe('Northern Cardinal');
    expect(await invokeOk(api, 'species:merge', { fromId: fx.classIds[0], intoId: robin.id })).toEqual({
      moved: 2,
    });
    let list = await invokeOk<ClassInfo[]>(api, 'classes:list', { collectionId: fx.collectionId });
    expect(list.map((c) => [c.name, c.count])).toEqual([
      ['Blue Jay', 2],
      ['Robin', 2],
    ]);
    await invokeOk(api, 'edits:undo');
    list = await invokeOk<ClassInfo[]>(api, 'classes:list', { collectionId: fx.collectionId });
    expect(list.map((c) => [c.name, c.displayName, c.count])).toEqual([
      ['Blue Jay', null, 2],
      ['Cardinal', 'Northern Cardinal', 2],
      ['Robin', null, 0],
    ]);
    await invokeOk(api, 'edits:undo'); // the rename
    expect(pushes.length).toBe(5);
    expect(pushes.every((ids) => ids.length === 0 || ids.length === 2)).toBe(true);
  });

  it('species:create with imageIds labels the photos in the same undo step', async () => {
    const { fx, api } = await start();
    const photo = fx.imageIds[0];
    const robin = await invokeOk<ClassInfo>(api, 'species:create', {
      collectionId: fx.collectionId,
      name: 'Robin',
      imageIds: [photo],
    });
    expect(robin.count).toBe(1);
    const detail = () => invokeOk<{ classId: number | null }>(api, 'images:get', { id: photo });
    expect((await detail()).classId).toBe(robin.id);
    await invokeOk(api, 'edits:undo');
    expect((await detail()).classId).toBe(fx.classIds[0]);
    const names = async () => (await invokeOk<ClassInfo[]>(api, 'classes:list', { collectionId: fx.collectionId })).map((c) => c.name);
    expect(await names()).toEqual(['Blue Jay', 'Cardinal']);
    await invokeOk(api, 'edits:redo');
    expect((await detail()).classId).toBe(robin.id);
    expect(await names()).toEqual(['Blue Jay', 'Cardinal', 'Robin']);
  });

  it('answers clear errors for bad or conflicting requests', async () => {
    const { fx, api } = await start();
    const cases: [string, unknown, string][] = [
      ['species:create', { collectionId: fx.collectionId, name: '' }, 'invalid_request'],
      ['species:create', { collectionId: fx.collectionId, name: 'a\u0000b' }, 'invalid_request'],
      ['species:create', { collectionId: fx.collectionId, name: 'x'.repeat(201) }, 'invalid_request'],
      ['species:create', { collectionId: 999, name: 'Robin' }, 'not_found'],
      ['species:create', { collectionId: fx.collectionId, name: 'Robin', imageIds: [999] }, 'not_found'],
      ['species:create', { collectionId: fx.collectionId, name: 'Robin', imageIds: [-1] }, 'invalid_request'],
      ['species:create', { collectionId: fx.collectionId, name: 'cardinal' }, 'conflict'],
      ['species:rename', { classId: fx.classIds[0], name: 'Blue Jay' }, 'conflict'],
      ['species:rename', { classId: fx.classIds[0], name: 'ok', extra: 1 }, 'invalid_request'],
      ['species:merge', { fromId: fx.classIds[0], intoId: fx.classIds[0] }, 'invalid_request'],
      ['species:merge', { fromId: fx.classIds[0] }, 'invalid_request'],
      ['species:merge', { fromId: 999, intoId: fx.classIds[0] }, 'not_found'],
    ];
    for (const [channel, req, code] of cases) {
      const env = await api.invoke(channel, req);
      expect(env.result, `${channel} ${JSON.stringify(req)}`).toBeUndefined();
      expect(env.error?.code, `${channel} ${JSON.stringify(req)}`).toBe(code);
      expect(env.error?.message).not.toMatch(/\n\s+at /);
    }
  });
});
