/**
 * The review queue, heat maps and runs dashboard through the api (jobs in the worker thread) on
 * the hand-built report fixture, whose classifier predictions are known in advance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { updateRun } from '../../src-main/data/runs.ts';
import type {
  CamsView,
  ImageDetail,
  ImagePage,
  JobInfo,
  RunComparison,
  RunDetail,
  WordCamView,
} from '../../shared/types.ts';
import { buildFixture, type Fixture } from './report-fixture.ts';
import { invokeOk } from '../helpers/invoke.ts';

let dir: string;
let fx: Fixture;
let api: PlumageApi;

const ok = <T>(channel: string, req?: unknown) => invokeOk<T>(api, channel, req);

async function finished(jobId: string): Promise<JobInfo> {
  const info = await api.jobs.wait(jobId);
  if (info.status !== 'done') throw new Error(`job ${info.label} ${info.status}: ${info.message}`);
  return info;
}

beforeAll(() => {
  process.env.PLUMAGE_BACKEND ||= 'cpu';
  dir = mkdtempSync(join(tmpdir(), 'plumage-insights-api-'));
  fx = buildFixture(join(dir, 'home'));
  api = createApi({ home: fx.home, log: () => {} });
});
afterAll(() => {
  api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runs dashboard', () => {
  it('eval:start evaluates in a worker and scores the collection; runs:get shows it', async () => {
    const pushes: JobInfo[] = [];
    const off = api.on('job:progress', (j) => pushes.push(j));
    const { jobId } = await ok<{ jobId: string }>('eval:start', { runId: fx.runs.cam });
    const info = await finished(jobId);
    off();
    expect(info.kind).toBe('evaluate');
    expect(pushes.some((p) => p.id === jobId && p.status === 'running')).toBe(true);
    const d = await ok<RunDetail>('runs:get', { id: fx.runs.cam });
    expect(d.metrics!.top1).toBeCloseTo(fx.expected.top1, 10);
    expect(d.metrics!.pointing).toBeCloseTo(fx.expected.pointing, 10);
    expect(d.predictions).toBe(12);
    const ev = d.evaluation;
    if (!ev) throw new Error('runs:get has no evaluation after eval:start');
    expect(ev.run).toBe(fx.runs.cam);
    expect(ev.per_class.map((c) => c.top1)).toEqual(fx.expected.perClass);
    expect(ev.confusion?.matrix[0][1]).toBe(1);
    expect(d.epochs).toHaveLength(5);
    expect(d.config).toEqual({ split: 'default' });
  });

  it('runs:get shows no evaluation for a run whose metrics come from training alone', async () => {
    updateRun(api.db, fx.runs.cnn, { metrics: { top1: 0.5, top5: 1 } });
    const d = await ok<RunDetail>('runs:get', { id: fx.runs.cnn });
    expect(d.metrics).toEqual({ top1: 0.5, top5: 1 });
    expect(d.evaluation).toBeNull();
  });

  it('runs:confusionCell opens the misclassified photos (by class id or name)', async () => {
    const wrong = fx.images.filter((im) => im.trueClass !== im.featureClass);
    expect(wrong).toHaveLength(1);
    const byName = await ok<{ imageIds: number[] }>('runs:confusionCell', {
      runId: fx.runs.cam,
      trueClass: 'red bird',
      predClass: 'blue bird',
    });
    expect(byName.imageIds).toEqual(wrong.map((w) => w.id));
    const d = await ok<ImageDetail>('images:get', { id: wrong[0].id });
    const blue = d.suggestions[0].classId;
    const byId = await ok<{ imageIds: number[] }>('runs:confusionCell', {
      runId: fx.runs.cam,
      trueClass: d.classId,
      predClass: blue,
    });
    expect(byId.imageIds).toEqual(byName.imageIds);
    const diag = await ok<{ imageIds: number[] }>('runs:confusionCell', {
      runId: fx.runs.cam,
      trueClass: 'red bird',
      predClass: 'red bird',
    });
    expect(diag.imageIds).toEqual(
      fx.images.filter((im) => im.trueClass === 0 && im.featureClass === 0).map((im) => im.id),
    );
    // a run that never scored the collection
    expect(
      (
        await api.invoke('runs:confusionCell', {
          runId: fx.runs.medi,
          trueClass: 'red bird',
          predClass: 'red bird',
        })
      ).error?.code,
    ).toBe('unavailable');
    expect(
      (
        await api.invoke('runs:confusionCell', {
          runId: fx.runs.cam,
          trueClass: 'purple bird',
          predClass: 'red bird',
        })
      ).error?.code,
    ).toBe('not_found');
  });

  it('runs:compare gives Table 2 rows with relative improvements over the cnn baseline', async () => {
    await finished((await ok<{ jobId: string }>('eval:start', { runId: fx.runs.cnn })).jobId);
    const t = await ok<RunComparison>('runs:compare', { ids: [fx.runs.cnn, fx.runs.cam, fx.runs.medi] });
    expect(t.columns[0]).toMatchObject({ key: 'top1', baseline: 'cnn' });
    expect(t.baselines).toEqual({ cnn: fx.runs.cnn, lrcn: null });
    const cnn = await ok<RunDetail>('runs:get', { id: fx.runs.cnn });
    const cam = await ok<RunDetail>('runs:get', { id: fx.runs.cam });
    const iTop1 = t.columns.findIndex((c) => c.key === 'top1');
    const iCider = t.columns.findIndex((c) => c.key === 'cider');
    expect(t.rows[1].values[iTop1]).toBe(cam.metrics!.top1);
    const rel = (cam.metrics!.top1 - cnn.metrics!.top1) / cnn.metrics!.top1;
    expect(t.rows[1].relative[iTop1]).toBeCloseTo(rel, 12);
    expect(t.rows[0].relative[iTop1]).toBeNull(); // the baseline itself
    expect(t.rows[1].relative[iCider]).toBeNull(); // no lrcn baseline among the ids
    expect(t.rows[2].values.every((v) => v === null)).toBe(true); // medi: not evaluated yet
  });
});

describe('review queue and heat maps', () => {
  it('predict:start scores with the latest run; gallery sorts and next-disputed follow it', async () => {
    const { jobId } = await ok<{ jobId: string }>('predict:start', { runId: fx.runs.cam });
    const info = await finished(jobId);
    expect(info.result).toMatchObject({ run: fx.runs.cam, images: 12 });
    const page = await ok<ImagePage>('images:query', { sort: 'disagreement', limit: 12 });
    const ds = page.items.map((i) => i.disagreement!);
    expect(ds.every((d) => typeof d === 'number')).toBe(true);
    expect(ds).toEqual([...ds].sort((a, b) => b - a));
    const first = await ok<{ imageId: number }>('images:nextDisputed', {});
    expect(first.imageId).toBe(page.items[0].id);
    const second = await ok<{ imageId: number }>('images:nextDisputed', { afterId: first.imageId });
    expect(second.imageId).toBe(page.items[1].id);
    const conf = await ok<ImagePage>('images:query', { sort: 'confidence', limit: 12 });
    expect(conf.total).toBe(12);
  });

  it('cams:get and cams:word give normalised maps; the classifier CAM peaks at the hot cell', async () => {
    const im = fx.images[5];
    const c = await ok<CamsView>('cams:get', { imageId: im.id });
    expect(c.runId).toBe(fx.runs.cam);
    expect(c.cls.indexOf(1)).toBe(im.hot[0] * 3 + im.hot[1]);
    expect(c.cap).toHaveLength(9);
    expect(c.words.join(' ')).toBe(c.caption);
    const w = await ok<WordCamView>('cams:word', { imageId: im.id, wordIndex: 0 });
    expect(w.word).toBe(c.words[0]);
    expect(Math.max(...w.cam)).toBeLessThanOrEqual(1);
    const cnn = await ok<CamsView>('cams:get', { imageId: im.id, runId: fx.runs.cnn });
    expect(cnn.cap).toEqual([]);
    expect(cnn.disagreement).toEqual([]);
    expect(
      (await api.invoke('cams:word', { imageId: im.id, runId: fx.runs.cnn, wordIndex: 0 })).error?.code,
    ).toBe('invalid_request');
    expect((await api.invoke('cams:word', { imageId: im.id, wordIndex: 999 })).error?.code).toBe(
      'invalid_request',
    );
    expect((await api.invoke('cams:get', { imageId: im.id, runId: 'nope' })).error?.code).toBe('not_found');
  });
});
