/**
 * One-click retrain through the api: train:start with no choices trains the cam variant,
 * warm-started from the collection's latest finished run, in the training worker, with live
 * detail in the progress pushes; the new run then scores the collection. With no run to continue,
 * cam is medi then its fine-tune. Cancel leaves a
 * resumable run that train:resumable offers and train:resume finishes (a cam request's medi stage
 * then goes on to the cam fine-tune).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import type { JobInfo, ResumableRun, RunDetail } from '../../shared/types.ts';
import { buildFixture, type Fixture } from './report-fixture.ts';
import { CAM_FINE_TUNE } from '../../src-main/jobs/train/config.ts';
import { invokeOk } from '../helpers/invoke.ts';

let dir: string;
let fx: Fixture;
let api: PlumageApi;

const ok = <T>(channel: string, req?: unknown) => invokeOk<T>(api, channel, req);

beforeAll(() => {
  // wasm: the training worker's matmuls are several times faster there than on cpu.
  process.env.PLUMAGE_BACKEND ||= 'wasm';
  dir = mkdtempSync(join(tmpdir(), 'plumage-retrain-'));
  fx = buildFixture(join(dir, 'home'));
  // Three photos of each class for training, one for testing.
  const db = openDb(workspace(fx.home).dbPath);
  fx.images.forEach((im, i) =>
    db
      .prepare("UPDATE splits SET part = ? WHERE image_id = ? AND scheme = 'default'")
      .run(i % 4 === 3 ? 'test' : 'train', im.id),
  );
  db.close();
  api = createApi({ home: fx.home, log: () => {} });
});
afterAll(() => {
  api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('one-click retrain', () => {
  it('trains cam warm-started from the latest finished run, pushes live detail, then scores the collection', async () => {
    const pushes: JobInfo[] = [];
    const off = api.on('job:progress', (j) => pushes.push(j));
    let imagesChanged = 0;
    const offImages = api.on('images:changed', () => imagesChanged++);
    const { jobId } = await ok<{ jobId: string }>('train:start', { epochs: 2 });
    const info = await api.jobs.wait(jobId);
    off();
    offImages();
    expect(info.status, info.message ?? '').toBe('done');
    const result = info.result as { run: string; variant: string; status: string; scored: number };
    expect(result).toMatchObject({ variant: 'cam', status: 'done', scored: 12 });
    const withDetail = pushes.filter((p) => p.id === jobId && p.detail?.step !== undefined);
    expect(withDetail.length).toBeGreaterThan(0);
    const last = withDetail.at(-1)!.detail!;
    expect(last.run).toBe(result.run);
    expect(last.epochs).toBe(2);
    expect(last.totalSteps).toBeGreaterThan(0);
    expect(Number.isFinite(last.losses!.total)).toBe(true);
    expect(last.pairsPerSec).toBeGreaterThan(0);
    // scored in the training worker: its progress counts the photos, and the window hears of the new predictions
    const scoring = pushes.filter((p) => p.id === jobId && p.detail?.phase === 'predict');
    expect(scoring.at(-1)).toMatchObject({ done: 12, total: 12, message: 'scoring the collection with the new run' });
    expect(imagesChanged).toBeGreaterThan(0);
    const run = await ok<RunDetail>('runs:get', { id: result.run });
    expect(run.status).toBe('done');
    expect(run.parentRun).toBe(fx.runs.cam);
    expect(run.config).toMatchObject({
      variant: 'cam',
      epochs: 2,
      dims: 'small',
      optimizer: 'adam',
      warmStart: fx.runs.cam,
    });
    expect(run.epochs.length).toBe(2);
    expect(run.predictions).toBe(12);
    // the gallery now shows the new run's numbers
    const d = await ok<{ suggestions: unknown[] }>('images:get', { id: fx.images[0].id });
    expect(d.suggestions).toHaveLength(3);
  });

  it('with no run to continue, cam is trained as the default recipe trains it: medi first, then its fine-tune with L_cam', async () => {
    const { jobId } = await ok<{ jobId: string }>('train:start', { warmStart: false, epochs: 1 });
    const info = await api.jobs.wait(jobId);
    expect(info.status, info.message ?? '').toBe('done');
    const result = info.result as { run: string; variant: string; base_run?: string };
    expect(result.variant).toBe('cam');
    expect(result.base_run).toBeDefined();
    const [base, cam] = await Promise.all([result.base_run!, result.run].map((id) => ok<RunDetail>('runs:get', { id })));
    expect(base.variant).toBe('medi');
    expect(base.config).toMatchObject({ variant: 'medi', epochs: 1, allCaptions: true, lr: 0.002 });
    expect(cam.parentRun).toBe(base.id);
    const { lr, lambda, minPhotoPasses } = CAM_FINE_TUNE.standard!;
    expect(cam.config).toMatchObject({ variant: 'cam', warmStart: base.id, lr, lambda, minPhotoPasses, allCaptions: true });
  });

  /** Cancels a training job as soon as its first epoch has been reported. */
  const cancelAfterFirstEpoch = (jobId: string) =>
    new Promise<void>((resolve) => {
      const off = api.on('job:progress', (j) => {
        if (j.id === jobId && (j.detail?.history?.length ?? 0) >= 1) {
          off();
          void api.invoke('jobs:cancel', { jobId });
          resolve();
        }
      });
    });

  it('cancel leaves a resumable run; train:resume finishes it, its live history keeping the earlier epochs', async () => {
    const { jobId } = await ok<{ jobId: string }>('train:start', { variant: 'medi', epochs: 6, warmStart: false });
    await cancelAfterFirstEpoch(jobId);
    const info = await api.jobs.wait(jobId);
    expect(info.status).toBe('cancelled');
    const list = await ok<ResumableRun[]>('train:resumable');
    expect(list).toHaveLength(1);
    const before = (await ok<RunDetail>('runs:get', { id: list[0].id })).epochs.length;
    expect(before).toBeGreaterThanOrEqual(1);
    const pushes: JobInfo[] = [];
    const off = api.on('job:progress', (j) => pushes.push(j));
    const { jobId: j2 } = await ok<{ jobId: string }>('train:resume', { runId: list[0].id });
    const done = await api.jobs.wait(j2);
    off();
    expect(done.status, done.message ?? '').toBe('done');
    expect((done.result as { run: string }).run).toBe(list[0].id);
    expect(await ok('train:resumable')).toEqual([]);
    const run = await ok<RunDetail>('runs:get', { id: list[0].id });
    expect(run.status).toBe('done');
    // The resumed job's curves start at the run's first epoch, before it trains a new one …
    const first = pushes.find((p) => p.id === j2 && p.detail?.history)!.detail!.history!;
    expect(first.map((h) => h.epoch)).toEqual(Array.from({ length: before }, (_, i) => i));
    // … and end with every epoch on record, the same numbers.
    const history = done.detail!.history!;
    expect(history.map((h) => h.epoch)).toEqual(run.epochs.map((e) => Number(e.epoch)));
    expect(history.map((h) => h.losses!.total)).toEqual(run.epochs.map((e) => (e.loss as unknown as { total: number }).total));
    expect(history.length).toBeGreaterThan(before);
    expect(history.map((h) => h.epoch)).toEqual(history.map((_, i) => i));
  });

  it('a cam request cancelled in its medi stage is not lost: train:resume finishes medi, then trains the cam fine-tune', async () => {
    const { jobId } = await ok<{ jobId: string }>('train:start', { epochs: 6, warmStart: false });
    await cancelAfterFirstEpoch(jobId);
    expect((await api.jobs.wait(jobId)).status).toBe('cancelled');
    const [medi, ...others] = await ok<ResumableRun[]>('train:resumable');
    expect(others).toEqual([]);
    expect(medi.variant).toBe('medi');
    const { jobId: j2 } = await ok<{ jobId: string }>('train:resume', { runId: medi.id });
    const done = await api.jobs.wait(j2);
    expect(done.status, done.message ?? '').toBe('done');
    const result = done.result as { run: string; variant: string; base_run?: string };
    expect(result).toMatchObject({ variant: 'cam', base_run: medi.id });
    expect((await ok<RunDetail>('runs:get', { id: medi.id })).status).toBe('done');
    const cam = await ok<RunDetail>('runs:get', { id: result.run });
    expect(cam.parentRun).toBe(medi.id);
    const { lr, lambda } = CAM_FINE_TUNE.standard!;
    expect(cam.config).toMatchObject({ variant: 'cam', warmStart: medi.id, lr, lambda });
    expect(await ok('train:resumable')).toEqual([]);
  });
});
