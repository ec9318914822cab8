/**
 * The app shell store's own logic against a fake main side: the Undo / Redo bookkeeping (what
 * the buttons will undo, kept in step with the main side's journal), toasts, and what an edit or
 * a finished job re-reads. The photo list is a fake too (the gallery store registers the real one),
 * so the shell is tested alone. Each test gets fresh store modules.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../shared/ipc.ts';
import type { ClassInfo, JobInfo } from '../../shared/types.ts';
import { recordingPhotoList } from './fake-api.ts';

const fake = await vi.hoisted(async () => new (await import('./fake-api.ts')).FakeApi());
vi.mock('../../src-renderer/src/lib/api.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), api: fake }));

let app: typeof import('../../src-renderer/src/stores/app.svelte.ts').app;
/** What the shell asked of the photo list, in order. */
let photoCalls: string[];

const cardinal: ClassInfo = { id: 5, collectionId: 1, name: '017.Cardinal', displayName: null, count: 3 };

/** The main side's journal, as far as the store can tell: how many groups undo and redo would find. */
function journal(undoable: number) {
  let redoable = 0;
  fake.answer('edits:undo', () => (undoable ? (undoable--, redoable++, { undone: true, imageIds: [1] }) : { undone: false, imageIds: [] }));
  fake.answer('edits:redo', () => (redoable ? (redoable--, undoable++, { redone: true, imageIds: [1] }) : { redone: false, imageIds: [] }));
}

beforeEach(async () => {
  vi.resetModules();
  fake.reset();
  ({ app } = await import('../../src-renderer/src/stores/app.svelte.ts'));
  const photos = recordingPhotoList(1);
  app.showPhotos(photos.list);
  photoCalls = photos.calls;
  fake.answer('classes:list', () => [cardinal]);
  await app.loadClasses();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('undo and redo bookkeeping', () => {
  it('a label edit is named for the Undo button; undo moves the name to Redo, redo moves it back', async () => {
    fake.answer('labels:set', () => ({ changed: 2 }));
    journal(1);
    expect(await app.setLabel([1, 2], cardinal.id)).toBe(true);
    expect(app.undoLabel).toBe('Set Cardinal on 2 photos');
    await app.undo();
    expect(app.edits).toEqual({ undo: [], redo: ['Set Cardinal on 2 photos'] });
    expect(app.undoLabel).toBe('the last edit');
    expect(app.redoLabel).toBe('Set Cardinal on 2 photos');
    await app.redo();
    expect(app.edits).toEqual({ undo: ['Set Cardinal on 2 photos'], redo: [] });
  });

  it('an edit that changed nothing is not named; a new edit ends the redo list', async () => {
    fake.answer('labels:set', () => ({ changed: 0 }));
    await app.setLabel([1], null);
    expect(app.edits.undo).toEqual([]);
    fake.answer('review:set', () => ({ changed: 1 }));
    journal(1);
    await app.setReview([1], 'accepted');
    await app.undo();
    expect(app.edits.redo).toEqual(['Marked 1 photo accepted']);
    await app.setReview([2], 'rejected');
    expect(app.edits).toEqual({ undo: ['Marked 1 photo rejected'], redo: [] });
  });

  it('an undo the main side had nothing for leaves the lists alone; edits from before this session are named generically', async () => {
    journal(0);
    await app.undo();
    expect(app.edits).toEqual({ undo: [], redo: [] });
    journal(1); // an edit made before the window opened
    await app.undo();
    expect(app.edits.redo).toEqual(['an earlier edit']);
  });

  it('undo saves a pending caption edit before asking the main side', async () => {
    const order: string[] = [];
    app.flushEdits = async () => (order.push('flush'), true);
    fake.answer('edits:undo', () => (order.push('undo'), { undone: false, imageIds: [] }));
    await app.undo();
    expect(order).toEqual(['flush', 'undo']);
  });

  it('a caption being typed that cannot be saved stops Undo and Redo: the earlier edit stays', async () => {
    journal(1);
    const journalCalls = () => fake.calls.filter((c) => c.channel === 'edits:undo' || c.channel === 'edits:redo').map((c) => c.channel);
    app.flushEdits = async () => false; // the editor keeps the refused text and says why
    await app.undo();
    await app.redo();
    expect(journalCalls()).toEqual([]);
    app.flushEdits = async () => true;
    await app.undo();
    expect(journalCalls()).toEqual(['edits:undo']);
  });

  it('keeps the names of the last 50 edits', () => {
    for (let i = 0; i < 60; i++) app.recordEdit(`edit ${i}`);
    expect(app.edits.undo).toHaveLength(50);
    expect(app.edits.undo[0]).toBe('edit 10');
  });

  it('a refused label is said in words and makes the open photo re-read its true state', async () => {
    fake.answer('labels:set', () => {
      throw new ApiError('no class 99', 'not_found');
    });
    const version = app.detailVersion;
    expect(await app.setLabel([1], 99)).toBe(false);
    expect(app.detailVersion).toBe(version + 1);
    expect(app.toasts.at(-1)).toMatchObject({ error: true });
    expect(app.toasts.at(-1)?.text).not.toMatch(/not_found/);
    expect(app.edits.undo).toEqual([]);
  });
});

describe('after an edit', () => {
  it("says what happened, re-reads the photos on screen and the shown collection's species, and tells the photo view", async () => {
    fake.answer('labels:set', () => ({ changed: 1 }));
    const version = app.detailVersion;
    fake.calls.length = 0;
    await app.setLabel([2], cardinal.id);
    expect(fake.calls).toEqual([
      { channel: 'labels:set', req: { imageIds: [2], classId: cardinal.id } },
      { channel: 'classes:list', req: { collectionId: 1 } },
    ]);
    expect(photoCalls).toEqual(['refresh']);
    expect(app.toasts.map((t) => t.text)).toEqual(['Set Cardinal on 1 photo']);
    expect(app.detailVersion).toBe(version + 1);
  });

  it('a push from the main side (another window, an undo elsewhere) re-reads without a toast', async () => {
    fake.answer('app:info', () => ({ version: '1', backend: 'wasm', home: '/h', warnings: [] }));
    fake.answer('collections:list', () => []);
    await app.start();
    expect(photoCalls).toEqual(['applyFilters']);
    fake.calls.length = 0;
    fake.push('images:changed', { imageIds: [3] });
    await vi.waitFor(() => expect(fake.calls.map((c) => c.channel)).toEqual(['classes:list']));
    expect(photoCalls).toEqual(['applyFilters', 'refresh']);
    expect(app.toasts).toEqual([]);
  });

  it('a finished import re-reads collections, species and the photo list; a training re-reads the photos (new scores)', async () => {
    fake.answer('collections:list', () => [{ id: 1, name: 'Birds', root: '/b', kind: 'folder', images: 3 }]);
    const job = (kind: 'import' | 'train' | 'caption'): JobInfo => ({ id: kind, kind, status: 'done', label: kind, done: 1, total: 1, eta: null, message: null, result: null });
    fake.calls.length = 0;
    app.afterJob(job('import'));
    await vi.waitFor(() => expect(app.collections).toHaveLength(1));
    expect(fake.calls.map((c) => c.channel).sort()).toEqual(['classes:list', 'collections:list']);
    expect(photoCalls).toEqual(['afterImport']);
    app.afterJob(job('train'));
    app.afterJob(job('caption')); // a batch of new photos outside the collections changes nothing here
    expect(photoCalls).toEqual(['afterImport', 'refresh']);
  });
});

describe('toasts', () => {
  it('the same text replaces its toast, at most four stay, and each can be dismissed', () => {
    for (const text of ['a', 'b', 'a', 'c', 'd', 'e']) app.say(text);
    expect(app.toasts.map((t) => t.text)).toEqual(['a', 'c', 'd', 'e']);
    app.dismiss(app.toasts[1].id);
    expect(app.toasts.map((t) => t.text)).toEqual(['a', 'd', 'e']);
  });

  it('a notice goes away after 5 s, an error after 10 s', () => {
    vi.useFakeTimers();
    app.say('Saved');
    app.say('could not save', true);
    vi.advanceTimersByTime(5000);
    expect(app.toasts.map((t) => t.text)).toEqual(['could not save']);
    vi.advanceTimersByTime(5000);
    expect(app.toasts).toEqual([]);
  });
});
