/**
 * The runs store against a fake main side: which run the dashboard opens, a failed read said in
 * words and gone once a read succeeds again, a slow answer for a run clicked earlier never
 * replacing the run clicked last, the comparison table, a confusion cell opened in the gallery,
 * and scoring / evaluating the open run as jobs. Each test gets fresh store modules.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunDetail, RunSummary } from '../../shared/types.ts';
import { later, pagedIds, photo } from './fake-api.ts';

const fake = await vi.hoisted(async () => new (await import('./fake-api.ts')).FakeApi());
vi.mock('../../src-renderer/src/lib/api.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), api: fake }));

let runs: typeof import('../../src-renderer/src/stores/runs.svelte.ts').runs;
let app: typeof import('../../src-renderer/src/stores/app.svelte.ts').app;
let gallery: typeof import('../../src-renderer/src/stores/gallery.svelte.ts').gallery;
/** The ApiError class of the fresh modules (errorText recognises only its own class). */
let ApiError: typeof import('../../src-renderer/src/lib/api.ts').ApiError;

function summary(id: string, status: RunSummary['status']): RunSummary {
  return { id, name: null, createdAt: '2026-12-01', variant: 'cam', encoder: 'mobilenet_v2', backend: 'node', status, metrics: null, epochs: [], warnings: [] };
}

function detail(id: string, parentRun: string | null = null): RunDetail {
  return {
    ...summary(id, 'done'),
    collectionId: 1,
    config: {},
    parentRun,
    startedAt: null,
    finishedAt: null,
    timings: null,
    checkpoint: null,
    error: null,
    evaluation: null,
    predictions: 0,
  };
}

beforeEach(async () => {
  vi.resetModules();
  fake.reset();
  ({ runs } = await import('../../src-renderer/src/stores/runs.svelte.ts'));
  ({ app } = await import('../../src-renderer/src/stores/app.svelte.ts'));
  ({ gallery } = await import('../../src-renderer/src/stores/gallery.svelte.ts'));
  ({ ApiError } = await import('../../src-renderer/src/lib/api.ts'));
  fake.answer('runs:list', () => [summary('r3', 'running'), summary('r2', 'done'), summary('r1', 'done')]);
  fake.answer('runs:get', ({ id }) => detail(id));
  fake.answer('classes:list', () => []);
});

describe('the dashboard', () => {
  it('opens the newest finished run, and keeps the open one when read again', async () => {
    await runs.load();
    expect(runs.done.map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(runs.detail?.id).toBe('r2');
    await runs.open('r1');
    await runs.load();
    expect(runs.detail?.id).toBe('r1');
    expect(fake.requests('runs:get')).toEqual([{ id: 'r2' }, { id: 'r1' }, { id: 'r1' }]);
  });

  it('with no finished run, opens the newest run of any status; with none, opens nothing', async () => {
    fake.answer('runs:list', () => [summary('r9', 'failed')]);
    await runs.load();
    expect(runs.detail?.id).toBe('r9');
    vi.resetModules();
    ({ runs } = await import('../../src-renderer/src/stores/runs.svelte.ts'));
    fake.answer('runs:list', () => []);
    await runs.load();
    expect(runs.detail).toBeNull();
    expect(runs.error).toBe('');
  });

  it('a failed read is said in words, and cleared by the next read that succeeds', async () => {
    fake.answer('runs:list', () => {
      throw new ApiError('the workspace database is locked', 'unavailable');
    });
    await runs.load();
    expect(runs.error).toBe('That is not possible right now: the workspace database is locked');
    fake.answer('runs:list', () => [summary('r1', 'done')]);
    await runs.load();
    expect(runs.detail?.id).toBe('r1');
    expect(runs.error).toBe('');
  });

  it('a run that cannot be opened is said, and the run shown before stays', async () => {
    await runs.open('r1');
    fake.answer('runs:get', ({ id }) => {
      throw new ApiError(`run ${id}`, 'not_found');
    });
    await runs.open('gone');
    expect(runs.error).toBe('Plumage could not find what was asked for: run gone');
    expect(runs.detail?.id).toBe('r1');
  });

  it('the run clicked last is the one shown, even when an earlier click is answered later', async () => {
    const slow = later<RunDetail>();
    fake.answer('runs:get', ({ id }) => (id === 'r1' ? slow.promise : detail(id)));
    const first = runs.open('r1');
    await runs.open('r2');
    slow.resolve(detail('r1'));
    await first;
    expect(runs.detail?.id).toBe('r2');
  });

  it('a continued run comes with the run it continued from', async () => {
    fake.answer('runs:get', ({ id }) => detail(id, id === 'r2' ? 'r1' : null));
    const { run, parent } = await runs.withParent('r2');
    expect([run.id, parent?.id]).toEqual(['r2', 'r1']);
    expect((await runs.withParent('r1')).parent).toBeNull();
  });
});

describe('comparison', () => {
  it('compares the ticked runs; none ticked clears the table without asking', async () => {
    fake.answer('runs:compare', ({ ids }) => ({ columns: [], rows: ids.map((id) => ({ run: id }) as never), baselines: {} as never }));
    await runs.compare(['r1', 'r2']);
    expect(runs.comparison?.rows).toHaveLength(2);
    await runs.compare([]);
    expect(runs.comparison).toBeNull();
    expect(fake.requests('runs:compare')).toEqual([{ ids: ['r1', 'r2'] }]);
  });
});

describe('confusion cells', () => {
  beforeEach(() => {
    fake.answer('images:query', pagedIds([1, 2, 3]));
    fake.answer('images:get', ({ id }) => ({ ...photo(id), takenAt: null, gps: null, captions: [], labelHistory: [], suggestions: [] }));
  });

  it('opens the cell’s photos in the gallery, or says the cell is empty', async () => {
    await runs.open('r2');
    fake.answer('runs:confusionCell', ({ trueClass }) => ({ imageIds: trueClass === 'Wren' ? [] : [3, 1] }));
    app.view = 'runs';
    await runs.openConfusionCell('Wren', 'Robin', 'Wren taken for Robin');
    expect(app.toasts.map((t) => t.text)).toEqual(['No photos in that cell']);
    expect(app.view).toBe('runs');
    await runs.openConfusionCell('Robin', 'Wren', 'Robin taken for Wren');
    expect(fake.requests('runs:confusionCell').at(-1)).toEqual({ runId: 'r2', trueClass: 'Robin', predClass: 'Wren' });
    expect(app.view).toBe('gallery');
    expect(gallery.idsFilter?.label).toBe('Robin taken for Wren');
    expect([0, 1].map((i) => gallery.pages.idAt(i))).toEqual([1, 3]);
  });

  it('a cell that cannot be read is a notice, not a crash', async () => {
    await runs.open('r2');
    fake.answer('runs:confusionCell', () => {
      throw new ApiError('the run has no evaluation', 'unavailable');
    });
    await runs.openConfusionCell('Robin', 'Wren', 'x');
    expect(app.toasts.map((t) => [t.text, t.error])).toEqual([['That is not possible right now: the run has no evaluation', true]]);
  });
});

describe('jobs from the dashboard', () => {
  it('scores and evaluates the open run, and follows the jobs', async () => {
    fake.answer('predict:start', () => ({ jobId: 'j1' }));
    fake.answer('eval:start', () => ({ jobId: 'j2' }));
    await runs.score();
    await runs.evaluate();
    expect(fake.requests('predict:start')).toEqual([]); // no run open: nothing to score
    await runs.open('r2');
    await runs.score();
    await runs.evaluate();
    expect(fake.requests('predict:start')).toEqual([{ runId: 'r2' }]);
    expect(fake.requests('eval:start')).toEqual([{ runId: 'r2' }]);
    expect(runs.scoreJob).toEqual({ jobId: 'j1', runId: 'r2' });
    expect(runs.evalJobId).toBe('j2');
    expect(app.toasts.map((t) => t.text)).toEqual(['Scoring with r2 started', 'Evaluate r2 started']);
  });

  it('a job the main side refuses to start is said with its name, and nothing is followed', async () => {
    fake.answer('predict:start', () => {
      throw new ApiError('another training is running', 'conflict');
    });
    await runs.open('r2');
    await runs.score();
    expect(runs.scoreJob).toBeNull();
    expect(app.toasts.map((t) => [t.text, t.error])).toEqual([
      ['Scoring with r2: That clashes with something already in the workspace: another training is running', true],
    ]);
  });
});
