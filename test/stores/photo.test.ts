/**
 * The photo store against a fake main side: a saved caption or mask becomes one named edit for
 * Undo with a notice, and the gallery re-reads its tiles; a save the main side refuses records no
 * edit, says nothing was saved and reaches the caller (the editor keeps the text), and a caption
 * that could not be saved keeps its photo open, so no edit is lost or claimed. Each test gets
 * fresh store modules.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ImageDetail } from '../../shared/types.ts';
import { pagedIds, photo as tile } from './fake-api.ts';

const fake = await vi.hoisted(async () => new (await import('./fake-api.ts')).FakeApi());
vi.mock('../../src-renderer/src/lib/api.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), api: fake }));

let photo: typeof import('../../src-renderer/src/stores/photo.svelte.ts').photo;
let app: typeof import('../../src-renderer/src/stores/app.svelte.ts').app;
let gallery: typeof import('../../src-renderer/src/stores/gallery.svelte.ts').gallery;
/** The ApiError class of the fresh modules (errorText recognises only its own class). */
let ApiError: typeof import('../../src-renderer/src/lib/api.ts').ApiError;

function detail(id: number, caption: string | null = null): ImageDetail {
  const captions = caption == null ? [] : [{ id: 5, ord: 0, text: caption, provenance: 'human', accepted: true, revisions: [] }];
  return { ...tile(id), caption, takenAt: null, gps: null, captions, labelHistory: [], suggestions: [] };
}

/** Lets the store's fire-and-forget re-reads (gallery refresh) finish. */
const settle = () => new Promise((r) => setTimeout(r, 0));

beforeEach(async () => {
  vi.resetModules();
  fake.reset();
  ({ photo } = await import('../../src-renderer/src/stores/photo.svelte.ts'));
  ({ app } = await import('../../src-renderer/src/stores/app.svelte.ts'));
  ({ gallery } = await import('../../src-renderer/src/stores/gallery.svelte.ts'));
  ({ ApiError } = await import('../../src-renderer/src/lib/api.ts'));
  fake.answer('images:query', pagedIds([1, 2, 3]));
  fake.answer('classes:list', () => []);
  await gallery.applyFilters();
  fake.calls.length = 0;
});

describe('captions', () => {
  it('a saved caption is one named edit and a notice, and the gallery tiles re-read it', async () => {
    fake.answer('captions:save', ({ imageId, text }) => detail(imageId, text));
    const saved = await photo.saveCaption(detail(2), undefined, 'a small brown bird');
    await settle();
    expect(fake.requests('captions:save')).toEqual([{ imageId: 2, captionId: undefined, text: 'a small brown bird' }]);
    expect(saved.caption).toBe('a small brown bird');
    expect(app.edits.undo).toEqual(['caption of img2.jpg']);
    expect(app.toasts.map((t) => [t.text, t.error])).toEqual([['Caption saved', false]]);
    expect(fake.requests('images:query')).toEqual([{ sort: 'path', offset: 0, limit: 240 }]);
  });

  it('editing an existing caption names it, so the main side replaces that caption', async () => {
    fake.answer('captions:save', ({ imageId, text }) => detail(imageId, text));
    await photo.saveCaption(detail(3, 'old text'), 5, 'new text');
    expect(fake.requests('captions:save')).toEqual([{ imageId: 3, captionId: 5, text: 'new text' }]);
  });

  it('a refused save reaches the caller in words and records no edit, no notice and no re-read', async () => {
    fake.answer('captions:save', () => {
      throw new ApiError('captions:save: text: Too big: expected string to have <=10000 characters', 'invalid_request');
    });
    await expect(photo.saveCaption(detail(2), undefined, 'x'.repeat(10_001))).rejects.toBeInstanceOf(ApiError);
    await settle();
    expect(app.edits.undo).toEqual([]);
    expect(app.toasts).toEqual([]);
    expect(fake.requests('images:query')).toEqual([]);
  });

  it('a caption that could not be saved keeps the photo open: next, previous and back wait for it', async () => {
    let saves = 0;
    let saveWorks = false;
    app.flushEdits = async () => (saves++, saveWorks); // the editor said why and keeps the text
    await gallery.open(1);
    await gallery.step(1);
    await gallery.back();
    expect([gallery.focusIndex, app.view]).toEqual([1, 'photo']);
    saveWorks = true;
    await gallery.step(1);
    expect([gallery.focusIndex, app.view]).toEqual([2, 'photo']);
    await gallery.back();
    expect(app.view).toBe('gallery');
    expect(saves).toBe(4);
  });

  it('a save that throws instead is said in words, and the photo stays open too', async () => {
    app.flushEdits = async () => {
      throw new ApiError('the database is locked', 'unavailable');
    };
    await gallery.open(0);
    await gallery.step(1);
    expect([gallery.focusIndex, app.view]).toEqual([0, 'photo']);
    expect(app.toasts.map((t) => [t.text, t.error])).toEqual([['That is not possible right now: the database is locked', true]]);
  });
});

describe('masks', () => {
  it('a saved mask is an edit with the caller’s message; clearing is one too', async () => {
    fake.answer('masks:save', ({ width, height, png }) => ({ width, height, png }));
    fake.answer('masks:clear', () => ({ cleared: true }));
    const m = await photo.saveMask(2, 64, 48, 'iVBORw0KGgo=', 'Mask saved');
    expect(m).toEqual({ width: 64, height: 48, png: 'iVBORw0KGgo=' });
    expect(fake.requests('masks:save')).toEqual([{ imageId: 2, width: 64, height: 48, png: 'iVBORw0KGgo=' }]);
    await photo.clearMask(2);
    expect(fake.requests('masks:clear')).toEqual([{ imageId: 2 }]);
    expect(app.edits.undo).toEqual(['painted mask', 'clearing the mask']);
    expect(app.toasts.map((t) => t.text)).toEqual(['Mask saved', 'Mask cleared']);
  });

  it('a refused mask is no edit and no "saved" notice', async () => {
    fake.answer('masks:save', () => {
      throw new ApiError('the mask is not the size of the photo', 'invalid_request');
    });
    fake.answer('masks:clear', () => {
      throw new ApiError('photo 2', 'not_found');
    });
    await expect(photo.saveMask(2, 10, 10, 'iVBORw0KGgo=', 'Mask saved')).rejects.toThrow('not the size');
    await expect(photo.clearMask(2)).rejects.toThrow('photo 2');
    expect(app.edits.undo).toEqual([]);
    expect(app.toasts).toEqual([]);
  });
});

describe('reads', () => {
  it('reads the detail, the heat maps and the mask of the photo asked for', async () => {
    fake.answer('images:get', ({ id }) => detail(id, 'a bird'));
    fake.answer('masks:get', () => null);
    expect((await photo.detail(3)).caption).toBe('a bird');
    expect(await photo.mask(3)).toBeNull();
    expect(fake.calls.map((c) => [c.channel, c.req])).toEqual([
      ['images:get', { id: 3 }],
      ['masks:get', { imageId: 3 }],
    ]);
  });
});
