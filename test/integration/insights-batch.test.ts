/**
 * Batch caption a folder of 20 synthetic photos through the api (the caption job runs in the
 * worker thread, so the api keeps answering), review the results, import the accepted ones and
 * export CSV — on a real run trained by `plumage demo` with the small real encoder.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import type { BatchJobInfo, BatchResultItem, CamsView, JobInfo } from '../../shared/types.ts';
import { invokeOk } from '../helpers/invoke.ts';
import { SHARED_ENCODER } from '../helpers/shared.ts';

const TM = SHARED_ENCODER;
const bin = resolve(process.cwd(), 'bin/plumage.js');

let home = '';
let photos = '';
let run = '';
let api: PlumageApi;

const ok = <T>(channel: string, req?: unknown) => invokeOk<T>(api, channel, req);

beforeAll(() => {
  process.env.PLUMAGE_BACKEND ||= 'wasm';
  home = mkdtempSync(join(tmpdir(), 'plumage-batch-'));
  const out = execFileSync(
    process.execPath,
    [
      bin,
      'demo',
      '--home',
      home,
      '--encoder-path',
      TM,
      '--species',
      '4',
      '--per-species',
      '5',
      '--size',
      '64',
      '--epochs',
      '2',
      '--dims',
      'tiny',
      '--batch',
      '8',
      '--variants',
      'cam',
      '--json',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  );
  run = JSON.parse(out.trim().split('\n').pop()!).rows[0].run;
  const images = join(home, 'demo', readdirSync(join(home, 'demo'))[0], 'CUB_200_2011', 'images');
  photos = join(home, 'incoming');
  mkdirSync(photos, { recursive: true });
  let n = 0;
  for (const d of readdirSync(images).sort())
    for (const f of readdirSync(join(images, d)).sort())
      copyFileSync(join(images, d, f), join(photos, `p${String(n++).padStart(2, '0')}.jpg`));
  api = createApi({ home, log: () => {} });
}, 120_000);
afterAll(() => {
  api?.close();
  rmSync(home, { recursive: true, force: true });
});

describe('batch caption a folder through the api', () => {
  it('20 photos → 20 results with top-5 → review → import accepted → CSV with 20 rows', async () => {
    const pushes: JobInfo[] = [];
    const off = api.on('job:progress', (j) => pushes.push(j));
    const { jobId } = await ok<{ jobId: string }>('caption:start', { folder: photos, runId: run });
    // The api answers while the job runs (the work is in a worker thread).
    // Best of three, so one unlucky scheduling moment on a busy machine is not read as a blocked api.
    let fastest = Infinity;
    for (let attempt = 0; attempt < 3; attempt++) {
      const t0 = Date.now();
      await ok('collections:list');
      fastest = Math.min(fastest, Date.now() - t0);
    }
    expect(fastest).toBeLessThan(1000);
    const info = await api.jobs.wait(jobId);
    off();
    expect(info.status, info.message ?? '').toBe('done');
    expect(pushes.some((p) => p.id === jobId && p.total === 20)).toBe(true);
    const jobs = await ok<BatchJobInfo[]>('batch:list');
    expect(jobs[0]).toMatchObject({ runId: run, results: 20, errors: 0, status: 'done' });
    const results = await ok<BatchResultItem[]>('batch:results', { jobId: jobs[0].id });
    expect(results).toHaveLength(20);
    for (const r of results) {
      expect(typeof r.caption).toBe('string');
      expect(r.top5.length).toBe(4); // 4 species
      expect(r.top5[0].p).toBeGreaterThanOrEqual(r.top5[1].p);
    }
    await ok('batch:review', { jobId: jobs[0].id, relPath: results[0].relPath, review: 'accepted' });
    await ok('batch:review', {
      jobId: jobs[0].id,
      relPath: results[1].relPath,
      review: 'edited',
      caption: 'a small bird with a brown crown',
    });
    const imp = await ok<{ imported: number; captions: number }>('batch:importAccepted', {
      jobId: jobs[0].id,
    });
    expect(imp).toMatchObject({ imported: 2, captions: 2 });
    const csv = join(home, 'exports', 'out.csv'); // the page may write exports only into <home>/exports
    expect(await ok('batch:export', { jobId: jobs[0].id, format: 'csv', path: csv, include: 'all' })).toEqual({
      path: csv,
      rows: 20,
    });
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[2]).toContain('a small bird with a brown crown');
  });

  it('heat maps of real photos: normalised species and caption maps, per-word CAM for every word', async () => {
    const page = await ok<{ items: { id: number }[] }>('images:query', { collectionId: 1, limit: 20 });
    expect(page.items).toHaveLength(20);
    let shown = 0;
    for (const { id } of page.items) {
      const c = await ok<CamsView>('cams:get', { imageId: id, runId: run });
      expect(c.H * c.W).toBeGreaterThan(1);
      expect(c.cls).toHaveLength(c.H * c.W);
      expect(c.cap).toHaveLength(c.H * c.W);
      // A Grad-CAM is relu(Σ α_k A_k): scaled to a peak of 1, or all zero when nothing in the
      // photo counts for the guess (the window says so instead of drawing a blank panel).
      const peak = Math.max(...c.cls);
      expect([0, 1]).toContain(peak);
      if (peak === 1) shown++;
    }
    // A two-epoch model leaves a few species maps empty at most (evaluation's empty_cls_cam).
    expect(shown).toBeGreaterThanOrEqual(15);
    const first = page.items[0].id;
    const c = await ok<CamsView>('cams:get', { imageId: first, runId: run });
    for (let i = 0; i < c.words.length; i++) {
      const w = await ok<{ cam: number[]; word: string }>('cams:word', { imageId: first, runId: run, wordIndex: i });
      expect(w.word).toBe(c.words[i]);
      expect(w.cam).toHaveLength(c.H * c.W);
    }
  });
});
