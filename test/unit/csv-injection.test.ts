import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBatch } from '../../src-main/api/insights.ts';
import { addCaption } from '../../src-main/data/annotations.ts';
import { listCollections } from '../../src-main/data/queries.ts';
import { exportCsv } from '../../src-main/data/exporters.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { writeCaptionOutput } from '../../src-main/jobs/caption.ts';
import { csvCell, csvRow } from '../../src-main/util/csv.ts';
import { makeFixture, type Fixture } from './api-fixture.ts';

/** Every CSV the product writes neutralises spreadsheet formulas (OWASP "CSV injection"). */

const HOSTILE = ['=HYPERLINK("http://evil.example","x")', '+1+2', '-2+3', '@SUM(A1:A9)', '\t=1', '\r=1'];

/** What a spreadsheet would see in the cell: the CSV field unquoted. */
function unquote(field: string): string {
  return field.startsWith('"') ? field.slice(1, -1).replace(/""/g, '"') : field;
}

/** True if some field of the CSV text would start a formula. */
function hasLiveFormula(csv: string): boolean {
  // Fields are split naively on commas outside quotes; enough for the rows written here.
  const fields = csv.match(/("([^"]|"")*"|[^,\r\n]*)/g) ?? [];
  return fields.some((f) => /^[=+\-@\t\r]/.test(unquote(f)));
}

describe('csvCell', () => {
  it('prefixes a quote and quotes every formula-looking text', () => {
    expect(csvCell('=1+2')).toBe(`"'=1+2"`);
    expect(csvCell('+1')).toBe(`"'+1"`);
    expect(csvCell('-x')).toBe(`"'-x"`);
    expect(csvCell('@x')).toBe(`"'@x"`);
    expect(csvCell('\tx')).toBe(`"'\tx"`);
    expect(csvCell('\rx')).toBe(`"'\rx"`);
    expect(csvCell('=A1&"x"')).toBe(`"'=A1&""x"""`);
  });

  it('leaves ordinary text and numbers alone, RFC 4180 quoting kept', () => {
    expect(csvCell('a red bird')).toBe('a red bird');
    expect(csvCell('a, b')).toBe('"a, b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('x=1')).toBe('x=1');
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(null)).toBe('');
    expect(csvRow(['a', 2, null, '=b'])).toBe(`a,2,,"'=b"`);
  });
});

describe('CSV files written by the product', () => {
  let fx: Fixture;
  let db: Db;
  beforeAll(async () => {
    fx = await makeFixture(2);
    db = openDb(workspace(fx.home).dbPath);
    for (const t of HOSTILE) addCaption(db, fx.imageIds[0], t, 'human');
    db.prepare('UPDATE classes SET name = ? WHERE id = ?').run('=cmd|/C calc!A0', fx.classIds[0]);
  });
  afterAll(() => {
    db?.close();
    fx?.cleanup();
  });

  it('plumage export csv', () => {
    const file = join(fx.dir, 'export.csv');
    exportCsv(db, listCollections(db) as never, file);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`"'=cmd|/C calc!A0"`);
    expect(hasLiveFormula(text)).toBe(false);
  });

  it('plumage caption --out F.csv', () => {
    const file = join(fx.dir, 'captions.csv');
    const rows = HOSTILE.map((caption, i) => ({ path: `p${i}.png`, caption, top5: [{ class: '@Wren', p: 0.5 }], run: '-r1' }));
    writeCaptionOutput(file, rows as never, [], { run: '-r1', folder: fx.dir });
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[1].startsWith(`p0.png,"'=HYPERLINK(""http://evil.example"",""x"")"`)).toBe(true);
    expect(hasLiveFormula(text)).toBe(false);
  });

  it('batch:export csv', async () => {
    db.prepare("INSERT INTO runs(id, variant, encoder, backend, config, dataset_version, status) VALUES ('r1', 'cam', 'e', 'cpu', '{}', 'v', 'done')").run();
    const job = Number(db.prepare("INSERT INTO batch_jobs(folder, run_id, status) VALUES (?, 'r1', 'done')").run(fx.root).lastInsertRowid);
    const ins = db.prepare('INSERT INTO batch_results(job_id, rel_path, caption, top5, error) VALUES (?, ?, ?, ?, NULL)');
    HOSTILE.forEach((t, i) => ins.run(job, `+p${i}.png`, t, JSON.stringify([{ class: '=Jay', p: 0.9 }])));
    const file = join(fx.dir, 'batch.csv');
    expect((await exportBatch(db, job, 'csv', file, 'all')).rows).toBe(HOSTILE.length);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`"'+p0.png"`);
    expect(hasLiveFormula(text)).toBe(false);
  });
});
