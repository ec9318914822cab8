// plumage synth → the CUB importer: the synthetic dataset is read like real CUB-200-2011 data.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../src-main/data/importers/index.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { writeSynth } from '../../src-main/data/synth/write-cub.ts';

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), `plumage-synth-${p}-`));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('synth output through the CUB importer', () => {
  it('imports every image, class, caption, box, part location and the split without errors', async () => {
    const out = tmp('data');
    await writeSynth({ out, species: 4, perSpecies: 3, size: 64, seed: 5 });
    const ws = workspace(tmp('home'));
    const db = openDb(ws.dbPath);
    try {
      const r = await importDataset(db, ws, 'cub', out);
      expect(r).toMatchObject({ images: 12, classes: 4, captions: 120, added: 12, failed: 0, errors: [] });
      expect(db.prepare('SELECT count(*) n FROM parts').get()).toEqual({ n: 15 });
      expect(db.prepare('SELECT count(*) n FROM part_locations').get()).toEqual({ n: 12 * 15 });
      const sizes = db.prepare('SELECT DISTINCT width, height FROM images').all();
      expect(sizes).toEqual([{ width: 64, height: 64 }]);
      const split = db.prepare("SELECT part, count(*) n FROM splits WHERE scheme = 'official' GROUP BY part ORDER BY part").all();
      expect(split).toEqual([
        { part: 'test', n: 4 },
        { part: 'train', n: 8 },
      ]);
    } finally {
      db.close();
    }
  });
});
