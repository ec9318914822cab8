/**
 * The jobs store against a fake main side: one notice per job end however often its final state is
 * pushed, the live training curves built from progress pushes, resumable runs re-read when a
 * training stops, and what a finished job has the shell re-read. Each test gets fresh store modules.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobDetail, JobInfo, ResumableRun, TrainLosses } from '../../shared/types.ts';
import { recordingPhotoList } from './fake-api.ts';

const fake = await vi.hoisted(async () => new (await import('./fake-api.ts')).FakeApi());
vi.mock('../../src-renderer/src/lib/api.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), api: fake }));

let jobs: typeof import('../../src-renderer/src/stores/jobs.svelte.ts').jobs;
let app: typeof import('../../src-renderer/src/stores/app.svelte.ts').app;
let photoCalls: string[];

const stopped: ResumableRun = { id: 'r1', variant: 'cam', status: 'cancelled', createdAt: '2026-12-01', epoch: 2, epochs: 5, globalStep: 40 };

function job(id: string, kind: JobInfo['kind'], status: JobInfo['status'], detail?: JobDetail, message: string | null = null): JobInfo {
  // `kind` is any of the union's kinds here, which TypeScript cannot pair with one result type; null fits them all.
  return { id, kind, status, label: kind, done: 0, total: 1, eta: null, message, detail, result: null } as JobInfo;
}

const losses = (total: number): TrainLosses => ({ class: total / 2, caption: total / 2, cam: 0, mask: 0, total });

beforeEach(async () => {
  vi.resetModules();
  fake.reset();
  ({ jobs } = await import('../../src-renderer/src/stores/jobs.svelte.ts'));
  ({ app } = await import('../../src-renderer/src/stores/app.svelte.ts'));
  const photos = recordingPhotoList(null);
  app.showPhotos(photos.list);
  photoCalls = photos.calls;
  fake.answer('train:resumable', () => [stopped]);
  fake.answer('jobs:list', () => []);
  fake.answer('classes:list', () => []);
  fake.answer('collections:list', () => []);
});

describe('job ends', () => {
  it('are announced once, however often the final state is pushed', async () => {
    await jobs.start();
    fake.push('job:progress', job('j1', 'import', 'running'));
    expect(app.toasts).toEqual([]);
    fake.push('job:progress', job('j1', 'import', 'done'));
    fake.push('job:progress', job('j1', 'import', 'done'));
    fake.push('job:progress', job('j2', 'evaluate', 'failed', undefined, 'the run has no checkpoint'));
    fake.push('job:progress', job('j3', 'caption', 'cancelled'));
    expect(app.toasts.map((t) => [t.text, t.error])).toEqual([
      ['Import finished', false],
      ['Evaluation failed: the run has no checkpoint', true],
      ['Captioning stopped', false],
    ]);
    expect(jobs.list.map((j) => j.id)).toEqual(['j1', 'j2', 'j3']);
    expect(jobs.running).toEqual([]);
  });

  it('a finished job has the shell re-read what it changed; a failed one does not', async () => {
    jobs.update(job('j1', 'import', 'done'));
    jobs.update(job('j2', 'train', 'failed', undefined, 'out of memory'));
    expect(photoCalls).toEqual(['afterImport']);
    jobs.update(job('j3', 'predict', 'done'));
    expect(photoCalls).toEqual(['afterImport', 'refresh']);
  });

  it('a training that stops offers its run for Resume without a reload; resuming takes it off the list', async () => {
    jobs.update(job('t1', 'train', 'running'));
    expect(fake.requests('train:resumable')).toHaveLength(0);
    jobs.update(job('t1', 'train', 'cancelled'));
    await vi.waitFor(() => expect(jobs.resumable).toEqual([stopped]));
    fake.answer('train:resume', () => ({ jobId: 't2' }));
    await jobs.resume('r1');
    expect(jobs.resumable).toEqual([]);
    expect([jobs.trainJobId, app.dialog]).toEqual(['t2', 'retrain']);
    expect(app.toasts.at(-1)?.text).toBe('Resume r1 started');
  });

  it('the demo data job ends with its own sentence', async () => {
    fake.answer('demo:start', () => ({ jobId: 'd1' }));
    await jobs.tryDemo();
    jobs.update(job('d1', 'import', 'done'));
    expect(app.toasts.at(-1)?.text).toBe('The demo birds are ready');
  });
});

describe('training curves', () => {
  it('step losses grow by step (repeats and non-finite values dropped); epochs come from the history, counted from 1', () => {
    const push = (step: number, total: number, history?: JobDetail['history']) =>
      jobs.update(job('t1', 'train', 'running', { step, losses: losses(total), history }));
    push(1, 4);
    push(1, 3.9); // the same step pushed again
    push(2, NaN);
    push(3, 3, [{ epoch: 0, losses: { total: 3.5 }, val: { top1: 0.25, captionLoss: null } }]);
    push(4, 2.5); // no history in this push: the epoch curves stay
    const c = jobs.curves.t1;
    expect(c.steps.total).toEqual([
      { x: 1, y: 4 },
      { x: 3, y: 3 },
      { x: 4, y: 2.5 },
    ]);
    expect(c.steps.class).toHaveLength(3);
    expect(c.epochs).toEqual({ total: [{ x: 1, y: 3.5 }], 'val top1': [{ x: 1, y: 0.25 }] });
  });

  it('the Retrain panel follows the training it started, and a new settings form only once it is over', async () => {
    fake.answer('train:start', () => ({ jobId: 't9' }));
    await jobs.retrain({ epochs: 3 });
    expect(fake.requests('train:start')).toEqual([{ epochs: 3 }]);
    jobs.update(job('t9', 'train', 'running'));
    expect(jobs.training).toBe(true);
    jobs.retrainSettings();
    expect(jobs.trainJobId).toBe('t9');
    jobs.update(job('t9', 'train', 'done'));
    jobs.retrainSettings();
    expect(jobs.trainJobId).toBeNull();
  });

  it('a refused start says why and follows nothing', async () => {
    fake.answer('train:start', () => {
      throw new Error('no labelled photos');
    });
    await jobs.retrain();
    expect(jobs.trainJobId).toBeNull();
    expect(app.toasts.at(-1)).toMatchObject({ text: 'Training: no labelled photos', error: true });
  });
});
