import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { saveCaption } from '../../src-main/data/edits.ts';
import { importDataset, type ImportResult } from '../../src-main/data/importers/index.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { decodeRgb } from '../../src-main/ml/encoders/preprocess.ts';
import { generateCorpus, type Corpus, type FaultCase } from './corpus.ts';
import { isClearReason } from './reasons.ts';
import { recordFaultTotals } from './totals.ts';

/**
 * The generated bad-input corpus through import (the api's import:start for the folder, the
 * importers for CUB and COCO), batch captioning's decoder and workspace opening: every bad item
 * refused with a clear one-line reason, every good item kept, a human edit never lost, and the
 * database consistent afterwards.
 */

interface Outcome {
  c: FaultCase;
  kept: boolean;
  reasons: string[];
  crashed?: string;
}

let corpus: Corpus;
let api: PlumageApi;
let db: Db;
const outcomes: Outcome[] = [];
const decodeOutcomes: Outcome[] = [];
let lostEdits = 0;

async function importThroughApi(path: string): Promise<ImportResult> {
  const { result } = await api.invoke('import:start', { kind: 'folder', path });
  const jobId = (result as { jobId: string }).jobId;
  for (;;) {
    const jobs = (await api.invoke('jobs:list', undefined)).result as { id: string; status: string; result?: unknown; error?: string }[];
    const job = jobs.find((j) => j.id === jobId)!;
    if (job.status === 'done') return job.result as ImportResult;
    if (job.status !== 'running' && job.status !== 'queued') throw new Error(`import job ${job.status}: ${job.error}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function relPaths(): Set<string> {
  return new Set((db.prepare('SELECT rel_path FROM images').all() as { rel_path: string }[]).map((r) => r.rel_path));
}

function judge(cases: FaultCase[], result: ImportResult, base: string, keptRel: (c: FaultCase) => string) {
  const rels = relPaths();
  for (const c of cases) {
    const abs = join(base, c.path);
    const reasons = result.errors
      .filter((e) => e.path === abs || e.path.startsWith(`${abs}:`) || e.path.endsWith(`/${c.path}`) || e.path === c.path)
      .map((e) => e.reason);
    outcomes.push({ c, kept: rels.has(keptRel(c)), reasons });
  }
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plumage-fault-'));
  corpus = await generateCorpus(join(dir, 'corpus'));
  const home = join(dir, 'home');
  api = createApi({ home, log: () => {} });
  db = openDb(workspace(home).dbPath);

  const folderCases = corpus.cases.filter((c) => c.route === 'folder');
  judge(folderCases, await importThroughApi(corpus.folder), corpus.folder, (c) => c.path);

  // A human edit before the other (bad) imports and a re-import: it must survive all of them.
  const first = (db.prepare("SELECT id FROM images WHERE rel_path = 'good/a.jpg'").get() as { id: number }).id;
  saveCaption(db, first, undefined, 'a human caption that must survive');

  const ws = workspace(home);
  const cub = await importDataset(db, ws, 'cub', corpus.cubRoot);
  judge(corpus.cases.filter((c) => c.route === 'cub'), cub, corpus.cubRoot, (c) => c.path);

  for (const c of corpus.cases.filter((x) => x.route === 'coco' && !x.path.startsWith('partly') && x.path.endsWith('.json'))) {
    try {
      await importDataset(db, ws, 'coco', join(corpus.cocoDir, c.path));
      outcomes.push({ c, kept: true, reasons: [] });
    } catch (e) {
      outcomes.push({ c, kept: false, reasons: [(e as Error).message] });
    }
  }
  const partly = await importDataset(db, ws, 'coco', join(corpus.cocoDir, 'partly.json'));
  judge(corpus.cases.filter((c) => c.route === 'coco' && (c.path.startsWith('partly') || c.path === 'p1.jpg')), partly, corpus.cocoDir, (c) => c.path);

  await importThroughApi(corpus.folder); // re-import: idempotent, edits kept
  const kept = db.prepare('SELECT 1 FROM captions WHERE image_id = ? AND text = ? AND deleted = 0').get(first, 'a human caption that must survive');
  lostEdits = kept ? 0 : 1;

  for (const c of corpus.cases.filter((x) => x.route === 'db')) {
    try {
      openDb(join(c.path, 'plumage.db')).close();
      outcomes.push({ c, kept: true, reasons: [] });
    } catch (e) {
      outcomes.push({ c, kept: false, reasons: [(e as Error).message] });
    }
  }

  for (const c of folderCases.filter((x) => x.decode)) {
    try {
      await decodeRgb(join(corpus.folder, c.path), 32);
      decodeOutcomes.push({ c, kept: true, reasons: [] });
    } catch (e) {
      decodeOutcomes.push({ c, kept: false, reasons: [(e as Error).message] });
    }
  }
}, 120_000);

afterAll(() => {
  const all = [...outcomes, ...decodeOutcomes];
  const bad = all.filter((o) => !o.c.good);
  recordFaultTotals({
    suite: 'bad-input corpus (import, caption decoding, workspace)',
    cases: all.length,
    clearErrors: bad.filter((o) => !o.kept && o.reasons.length && o.reasons.every(isClearReason)).length,
    crashes: all.filter((o) => o.crashed).length + bad.filter((o) => !o.kept && !o.reasons.every(isClearReason)).length,
    lostEdits,
    acceptedInvalid: bad.filter((o) => o.kept).length,
  });
  api?.close();
  db?.close();
  rmSync(join(corpus.dir, '..'), { recursive: true, force: true });
});

describe('fault suite: the bad-input corpus', () => {
  it('has at least 60 generated cases', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(60);
  });

  it('refuses every bad item with a clear one-line reason', () => {
    const wrong = outcomes
      .filter((o) => !o.c.good && (o.kept || !o.reasons.length || !o.reasons.every(isClearReason)))
      .map((o) => `${o.c.name}: kept=${o.kept} reasons=${JSON.stringify(o.reasons)}`);
    expect(wrong).toEqual([]);
  });

  it('keeps every good item', () => {
    expect(outcomes.filter((o) => o.c.good && !o.kept).map((o) => o.c.name)).toEqual([]);
  });

  it('batch captioning decodes the good photos and refuses the bad ones in one line', () => {
    const wrong = decodeOutcomes
      .filter((o) => o.c.good !== o.kept || (!o.kept && !o.reasons.every(isClearReason)))
      .map((o) => `${o.c.name}: decoded=${o.kept} ${o.reasons.join(' | ')}`);
    expect(wrong).toEqual([]);
  });

  it('loses no human edit and leaves the database consistent', () => {
    expect(lostEdits).toBe(0);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
  });
});
