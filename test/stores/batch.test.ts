/**
 * The batch-caption store against a fake main side: a folder is checked before a job starts, the
 * finished job's batch opens once, a review the main side refuses changes nothing (the screen keeps
 * the text being edited), a batch that cannot be opened leaves the open one as it was, failures are
 * said in words and cleared by the next action that succeeds, and import / export report what they
 * did. Each test gets fresh store modules.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { BatchJobInfo, BatchResultItem, JobInfo } from '../../shared/types.ts';
import { later, recordingPhotoList } from './fake-api.ts';

const fake = await vi.hoisted(async () => new (await import('./fake-api.ts')).FakeApi());
vi.mock('../../src-renderer/src/lib/api.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), api: fake }));

let batch: typeof import('../../src-renderer/src/stores/batch.svelte.ts').batch;
let app: typeof import('../../src-renderer/src/stores/app.svelte.ts').app;
/** The ApiError class of the fresh modules (errorText recognises only its own class). */
let ApiError: typeof import('../../src-renderer/src/lib/api.ts').ApiError;
let photoCalls: string[];

function folder(id: number, reviewed = 0): BatchJobInfo {
  return { id, folder: `/birds/${id}`, runId: 'r1', status: 'done', createdAt: '2026-12-01', finishedAt: null, results: 3, errors: 0, reviewed, unreadable: 0, unreadableSample: [] };
}

function result(id: number, review: BatchResultItem['review'] = 'pending'): BatchResultItem {
  return { id, relPath: `p${id}.jpg`, caption: `a bird ${id}`, editedCaption: null, top5: [], review, error: null };
}

function captionJob(id: string, batchId: number | null): JobInfo {
  const result = batchId == null ? null : { job: batchId, run: 'r1', folder: '/birds', files: 3, captioned: 3, skipped_done: 0, skipped: [] };
  return { id, kind: 'caption', status: 'done', label: 'Caption', done: 3, total: 3, eta: null, message: null, result } as JobInfo;
}

beforeEach(async () => {
  vi.resetModules();
  fake.reset();
  ({ batch } = await import('../../src-renderer/src/stores/batch.svelte.ts'));
  ({ app } = await import('../../src-renderer/src/stores/app.svelte.ts'));
  ({ ApiError } = await import('../../src-renderer/src/lib/api.ts'));
  const photos = recordingPhotoList();
  app.showPhotos(photos.list);
  photoCalls = photos.calls;
  fake.answer('batch:list', () => [folder(2), folder(1)]);
  fake.answer('batch:results', ({ jobId }) => [result(jobId * 10), result(jobId * 10 + 1)]);
  fake.answer('classes:list', () => []);
  fake.answer('collections:list', () => [{ id: 4, name: 'Garden', root: '/g', kind: 'folder', images: 12 }]);
});

describe('captioning a folder', () => {
  it('asks for a folder before starting anything', async () => {
    await batch.caption('   ', '');
    expect(batch.error).toBe('Enter a folder of photos.');
    expect(fake.requests('caption:start')).toEqual([]);
  });

  it('starts the job with the folder trimmed, and the run only when one is chosen', async () => {
    fake.answer('caption:start', () => ({ jobId: 'j1' }));
    await batch.caption('', '');
    await batch.caption(' /birds/new ', '');
    expect(batch.error).toBe('');
    await batch.caption('/birds/new', 'r2');
    expect(fake.requests('caption:start')).toEqual([{ folder: '/birds/new' }, { folder: '/birds/new', runId: 'r2' }]);
    expect(batch.jobId).toBe('j1');
  });

  it('a folder the main side refuses is said in words and starts nothing', async () => {
    fake.answer('caption:start', () => {
      throw new ApiError('/etc is outside the folders this server may read', 'invalid_request');
    });
    await batch.caption('/etc', '');
    expect(batch.jobId).toBeNull();
    expect(batch.error).toMatch(/^That request could not be carried out as asked: .*outside the folders/);
  });

  it('opens the finished job’s batch once, however often the finished job is seen', async () => {
    expect(await batch.captioned(captionJob('j1', 1))).toBe(true);
    expect(await batch.captioned(captionJob('j1', 1))).toBe(false);
    expect(batch.openId).toBe(1);
    expect(batch.results.map((r) => r.id)).toEqual([10, 11]);
    // A job whose result does not name its batch opens the newest one.
    expect(await batch.captioned(captionJob('j2', null))).toBe(true);
    expect(batch.openId).toBe(2);
    expect(fake.requests('batch:results')).toEqual([{ jobId: 1 }, { jobId: 2 }]);
  });
});

describe('opening a batch', () => {
  it('a batch that cannot be opened leaves the open one as it was, says why, and answers false', async () => {
    await batch.loadBatches();
    await batch.openBatch(1);
    fake.answer('batch:results', () => {
      throw new ApiError('batch 2', 'not_found');
    });
    expect(await batch.openBatch(2)).toBe(false);
    expect(batch.error).toBe('Plumage could not find what was asked for: batch 2');
    // Still batch 1's results under batch 1: a review now goes to the batch whose results are shown.
    expect(batch.openId).toBe(1);
    expect(batch.current?.id).toBe(1);
    expect(batch.results.map((r) => r.id)).toEqual([10, 11]);
  });

  it('the batch opened last is the one shown, even when an earlier one answers later', async () => {
    const slow = later<BatchResultItem[]>();
    fake.answer('batch:results', ({ jobId }) => (jobId === 1 ? slow.promise : [result(20)]));
    const first = batch.openBatch(1);
    expect(await batch.openBatch(2)).toBe(true);
    slow.resolve([result(10)]);
    expect(await first).toBe(false);
    expect(batch.openId).toBe(2);
    expect(batch.results.map((r) => r.id)).toEqual([20]);
  });
});

describe('reviewing', () => {
  beforeEach(async () => {
    await batch.openBatch(1);
    fake.answer('batch:review', ({ relPath, review, caption }) => ({
      ...result(relPath === 'p10.jpg' ? 10 : 11, review),
      editedCaption: caption ?? null,
    }));
    fake.calls.length = 0;
  });

  it('records each verdict; only an edit sends its text; the folder list is re-read for its count', async () => {
    expect(await batch.review('p10.jpg', 'accepted', 'ignored')).toBe(true);
    expect(await batch.review('p11.jpg', 'edited', 'a wren on a post')).toBe(true);
    expect(fake.requests('batch:review')).toEqual([
      { jobId: 1, relPath: 'p10.jpg', review: 'accepted' },
      { jobId: 1, relPath: 'p11.jpg', review: 'edited', caption: 'a wren on a post' },
    ]);
    expect(batch.results.map((r) => [r.review, r.editedCaption])).toEqual([
      ['accepted', null],
      ['edited', 'a wren on a post'],
    ]);
    expect(batch.counts).toEqual({ accepted: 2, rejected: 0, pending: 0 });
    await Promise.resolve();
    expect(fake.requests('batch:list')).toHaveLength(2);
  });

  it('a refused edit changes nothing, says why and answers false (the screen keeps the text)', async () => {
    fake.answer('batch:review', () => {
      throw new ApiError('batch:review: caption: Too big: expected string to have <=10000 characters', 'invalid_request');
    });
    expect(await batch.review('p10.jpg', 'edited', 'x'.repeat(10_001))).toBe(false);
    expect(batch.results.map((r) => r.review)).toEqual(['pending', 'pending']);
    expect(batch.error).toMatch(/too long/i);
    expect(batch.error).not.toMatch(/batch:review|Too big/);
  });

  it('a failure is cleared by the next review that goes through', async () => {
    fake.answer('batch:review', () => {
      throw new ApiError('the database is locked', 'unavailable');
    });
    await batch.review('p10.jpg', 'rejected');
    expect(batch.error).not.toBe('');
    fake.answer('batch:review', ({ review }) => result(10, review));
    await batch.review('p10.jpg', 'rejected');
    expect(batch.error).toBe('');
    expect(batch.counts).toEqual({ accepted: 0, rejected: 1, pending: 1 });
  });

  it('with no batch open there is nothing to review', async () => {
    vi.resetModules();
    ({ batch } = await import('../../src-renderer/src/stores/batch.svelte.ts'));
    expect(await batch.review('p10.jpg', 'accepted')).toBe(false);
    expect(fake.requests('batch:review')).toEqual([]);
  });
});

describe('import and export', () => {
  beforeEach(async () => {
    await batch.loadBatches();
    await batch.openBatch(1);
  });

  it('imports the accepted results, re-reads the gallery and collections, and says where they went', async () => {
    fake.answer('batch:importAccepted', ({ collectionId }) => ({ collectionId: collectionId ?? 4, imported: 1, captions: 2, skipped: 0 }));
    await batch.importAccepted();
    await batch.importAccepted(4);
    expect(fake.requests('batch:importAccepted')).toEqual([{ jobId: 1 }, { jobId: 1, collectionId: 4 }]);
    expect(batch.note).toBe('Imported 1 photo (2 captions, 0 skipped) into Garden');
    expect(photoCalls).toEqual(['refresh', 'refresh']);
    expect(fake.requests('collections:list')).toHaveLength(2);
  });

  it('exports the open batch and says how many rows went where; a refusal is said instead', async () => {
    fake.answer('batch:export', ({ include }) => ({ path: '/home/me/exports/out.csv', rows: include === 'all' ? 2 : 1 }));
    await batch.exportTo('csv', 'out.csv');
    expect(batch.note).toBe('Exported 1 row to /home/me/exports/out.csv');
    await batch.exportTo('coco', 'out.json', 'all');
    expect(batch.note).toBe('Exported 2 rows to /home/me/exports/out.csv');
    expect(fake.requests('batch:export')).toEqual([
      { jobId: 1, format: 'csv', path: 'out.csv', include: 'accepted' },
      { jobId: 1, format: 'coco', path: 'out.json', include: 'all' },
    ]);
    fake.answer('batch:export', () => {
      throw new ApiError('/etc/out.csv may not be written', 'invalid_request');
    });
    await batch.exportTo('csv', '/etc/out.csv');
    expect(batch.error).toMatch(/may not be written/);
  });

  it('a cancelled save dialog exports nothing; a dialog that cannot open is said', async () => {
    fake.answer('batch:export', () => ({ path: '/x', rows: 1 }));
    fake.answer('dialog:choose', () => null);
    await batch.saveAs('csv');
    expect(fake.requests('dialog:choose')).toEqual([{ purpose: 'save', defaultName: 'plumage-captions.csv' }]);
    expect(fake.requests('batch:export')).toEqual([]);
    fake.answer('dialog:choose', () => {
      throw new ApiError('dialogs exist only in the desktop app', 'unavailable');
    });
    await batch.saveAs('coco');
    expect(batch.error).toBe('That is not possible right now: dialogs exist only in the desktop app');
    expect(fake.requests('batch:export')).toEqual([]);
  });
});
