import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { addCaption } from '../../src-main/data/annotations.ts';
import { importDataset, type ImportResult } from '../../src-main/data/importers/index.ts';
import { parseCaptionFile } from '../../src-main/data/importers/text.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { MAX_CAPTION_CHARS, TextTooLongError } from '../../src-main/data/text-limits.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { cleanTemps, jpeg, tempDir, write } from './import-fixtures.ts';

/** One caption length limit for every way text comes in: caption files, COCO, the api, the store. */

const long = 'a'.repeat(MAX_CAPTION_CHARS + 1);
const fits = 'b'.repeat(MAX_CAPTION_CHARS);
let home: string;
let db: Db;
let folder: ImportResult;
let coco: ImportResult;
let data: string;

const captionsOf = (rel: string) =>
  (
    db
      .prepare('SELECT c.text FROM captions c JOIN images i ON i.id = c.image_id WHERE i.rel_path = ? AND c.deleted = 0 ORDER BY c.ord')
      .all(rel) as { text: string }[]
  ).map((r) => r.text);

beforeAll(async () => {
  data = tempDir('text-limits');
  home = join(data, 'home');
  write(join(data, 'photos', 'wren', 'w1.jpg'), await jpeg(1));
  write(join(data, 'photos', 'wren', 'w1.txt'), `a brown wren\n${long}\n${fits}\nsings loudly\n`);
  write(join(data, 'coco', 'c1.jpg'), await jpeg(2));
  write(
    join(data, 'coco', 'captions.json'),
    JSON.stringify({
      images: [{ id: 1, file_name: 'c1.jpg' }],
      annotations: [
        { image_id: 1, caption: 'a red cardinal' },
        { image_id: 1, caption: 'x'.repeat(100_000) },
      ],
    }),
  );
  const ws = workspace(home);
  db = openDb(ws.dbPath);
  folder = await importDataset(db, ws, 'folder', join(data, 'photos'));
  coco = await importDataset(db, ws, 'coco', join(data, 'coco', 'captions.json'));
});

afterAll(() => {
  db?.close();
  cleanTemps();
});

describe('caption length limit', () => {
  it('caption files: refuses the long line with its line number, keeps the others', () => {
    expect(captionsOf('wren/w1.jpg')).toEqual(['a brown wren', fits, 'sings loudly']);
    const err = folder.errors.find((e) => e.path.endsWith('w1.txt:2'));
    expect(err?.reason).toBe('caption of 10,001 characters is over the 10,000-character limit; skipped');
  });

  it('parseCaptionFile reports refused lines', () => {
    const r = parseCaptionFile(Buffer.from(`ok caption\n${long}\n`));
    expect(r).toMatchObject({ ok: true, captions: ['ok caption'], refused: [{ line: 2 }] });
  });

  it('COCO: refuses the 100,000-character annotation with its index, keeps the other', () => {
    expect(captionsOf('c1.jpg')).toEqual(['a red cardinal']);
    const err = coco.errors.find((e) => e.path.endsWith('#annotations[1]'));
    expect(err?.reason).toMatch(/^caption of 100,000 characters is over the 10,000-character limit/);
  });

  it('the store refuses over-long text whatever the caller', () => {
    const id = (db.prepare('SELECT id FROM images LIMIT 1').get() as { id: number }).id;
    expect(() => addCaption(db, id, long, 'human')).toThrow(TextTooLongError);
  });
});

describe('caption length limit through the api', () => {
  let api: PlumageApi;
  beforeAll(() => {
    api = createApi({ home, log: () => {} });
  });
  afterAll(() => api?.close());

  it('captions:save accepts exactly the limit and refuses one more', async () => {
    const imageId = (db.prepare("SELECT id FROM images WHERE rel_path = 'c1.jpg'").get() as { id: number }).id;
    expect((await api.invoke('captions:save', { imageId, text: fits })).error).toBeUndefined();
    const r = await api.invoke('captions:save', { imageId, text: long });
    expect(r.error?.code).toBe('invalid_request');
    expect(r.error?.message).toMatch(/text/);
  });
});
