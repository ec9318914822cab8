import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchJobInfo, BatchResultItem, JobInfo } from '../../shared/types.ts';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { runCaption } from '../../src-main/jobs/caption.ts';
import { invokeOk } from '../helpers/invoke.ts';
import { generateCorpus, type Corpus, type FaultCase } from './corpus.ts';
import { isClearReason } from './reasons.ts';
import { recordFaultTotals } from './totals.ts';
import { trainedWorkspace, type TrainedWorkspace } from './trained.ts';

/**
 * The bad-input corpus's photo folder through a whole batch-caption job, as the app runs it
 * (`caption:start` on the api, the job in its worker thread, the review read back with
 * `batch:list` / `batch:results`): the job finishes, every good photo is captioned, every bad
 * file and every folder entry that cannot be read is listed with a clear one-line reason (the
 * entries are stored with the batch), and the api keeps answering.
 */

/** Folder entries the listing cannot read: broken links and link loops (and a locked folder, when not root). */
const UNREADABLE = ['links/dangling.jpg', 'links/loop-a.jpg', 'links/loop-b.jpg'];
/** root reads every folder whatever its mode, so a locked folder can only be tested as another user. */
const canLock = process.getuid?.() !== 0;

let root = '';
let trained: TrainedWorkspace;
let corpus: Corpus;
let api: PlumageApi;
let job: JobInfo;
let batch: BatchJobInfo;
let results: BatchResultItem[] = [];
let crashed = '';

/** What the job did with one case: captioned, or listed with these reasons. */
function outcome(c: FaultCase) {
  const r = results.find((x) => x.relPath === c.path);
  const unreadable = batch?.unreadableSample.filter((e) => e.path === c.path).map((e) => e.reason) ?? [];
  return {
    captioned: !!r && r.error === null && typeof r.caption === 'string' && r.top5.length > 0,
    reasons: [...(r?.error ? [r.error] : []), ...unreadable],
  };
}

/** The cases a caption job meets: the photo files it decodes, and the links it cannot follow. */
const captionCases = () => corpus.cases.filter((c) => c.route === 'folder' && (c.decode || UNREADABLE.includes(c.path)));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'plumage-capfault-'));
  trained = await trainedWorkspace(join(root, 'trained'));
  corpus = await generateCorpus(join(root, 'corpus'));
  if (canLock) {
    mkdirSync(join(corpus.folder, 'locked'));
    cpSync(join(corpus.folder, 'good', 'a.jpg'), join(corpus.folder, 'locked', 'a.jpg'));
    chmodSync(join(corpus.folder, 'locked'), 0o000);
  }
  api = createApi({ home: trained.home, log: () => {} });
  try {
    const { jobId } = await invokeOk<{ jobId: string }>(api, 'caption:start', { folder: corpus.folder, runId: trained.run });
    job = await api.jobs.wait(jobId);
    batch = (await invokeOk<BatchJobInfo[]>(api, 'batch:list'))[0];
    results = await invokeOk<BatchResultItem[]>(api, 'batch:results', { jobId: batch.id });
  } catch (e) {
    crashed = (e as Error).message;
  }
}, 240_000);

afterAll(() => {
  const cases = captionCases();
  const bad = cases.filter((c) => !c.good);
  const clear = (c: FaultCase) => {
    const o = outcome(c);
    return !o.captioned && o.reasons.length > 0 && o.reasons.every(isClearReason);
  };
  recordFaultTotals({
    suite: 'bad-input corpus through a batch-caption job',
    cases: cases.length,
    clearErrors: bad.filter(clear).length,
    crashes: (crashed || job?.status !== 'done' ? 1 : 0) + bad.filter((c) => !outcome(c).captioned && !clear(c)).length,
    lostEdits: 0,
    acceptedInvalid: bad.filter((c) => outcome(c).captioned).length,
  });
  api?.close();
  trained?.encoder.dispose();
  if (canLock && corpus) chmodSync(join(corpus.folder, 'locked'), 0o755);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('fault suite: the bad-input corpus through a batch-caption job', () => {
  it('the job finishes and the api still answers', async () => {
    expect(crashed).toBe('');
    expect(job.status, job.message ?? '').toBe('done');
    expect(await invokeOk(api, 'collections:list')).toBeInstanceOf(Array);
  });

  it('captions every good photo', () => {
    const missed = captionCases().filter((c) => c.good && !outcome(c).captioned);
    expect(missed.map((c) => `${c.path}: ${outcome(c).reasons.join(' | ')}`)).toEqual([]);
  });

  it('lists every bad file and unreadable entry with a clear one-line reason, captions none of them', () => {
    const wrong = captionCases()
      .filter((c) => !c.good)
      .map((c) => ({ c, o: outcome(c) }))
      .filter(({ o }) => o.captioned || !o.reasons.length || !o.reasons.every(isClearReason))
      .map(({ c, o }) => `${c.path}: captioned=${o.captioned} ${JSON.stringify(o.reasons)}`);
    expect(wrong).toEqual([]);
  });

  it('stores the folder entries that could not be read with the batch, for its review', () => {
    const want = [...UNREADABLE, ...(canLock ? ['locked'] : [])].sort();
    expect(batch.unreadable).toBe(want.length);
    expect(batch.unreadableSample.map((e) => e.path)).toEqual(want);
    expect(batch.unreadableSample.find((e) => e.path === 'links/loop-a.jpg')?.reason).toBe('symbolic link loop (ELOOP)');
    expect(batch.unreadableSample.find((e) => e.path === 'links/dangling.jpg')?.reason).toBe('broken symbolic link (target does not exist)');
    if (canLock) expect(batch.unreadableSample.find((e) => e.path === 'locked')?.reason).toMatch(/permission denied \(EACCES\)/);
    // Every other file of the folder is either captioned or listed: nothing silently dropped.
    expect(results.every((r) => (r.error === null ? typeof r.caption === 'string' : isClearReason(r.error)))).toBe(true);
  });

  it('a rerun after one entry was fixed forgets it; the CSV lists the skipped ones with their reason', async () => {
    rmSync(join(corpus.folder, 'links', 'dangling.jpg'));
    const out = join(root, 'rerun.csv');
    const again = await runCaption({ home: trained.home, folder: corpus.folder, run: trained.run, out, loaded: trained.encoder });
    expect(again.job).toBe(batch.id);
    expect(again.captioned).toBe(0); // every photo was done by the first run
    expect(again.unreadable).toBe(batch.unreadable - 1);
    const db = openDb(workspace(trained.home).dbPath);
    try {
      const stored = db.prepare('SELECT rel_path FROM batch_unreadable WHERE job_id = ? ORDER BY rel_path').all(batch.id);
      expect(stored.map((r) => (r as { rel_path: string }).rel_path)).not.toContain('links/dangling.jpg');
      expect(stored).toHaveLength(again.unreadable);
    } finally {
      db.close();
    }
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0].endsWith(',run,error')).toBe(true);
    expect(lines.find((l) => l.startsWith('links/loop-a.jpg,'))?.endsWith(',symbolic link loop (ELOOP)')).toBe(true);
    expect(lines.filter((l) => l.endsWith(`,${trained.run},`))).toHaveLength(again.results.length);
  });
});
