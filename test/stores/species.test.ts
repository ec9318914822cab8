/**
 * The species store against a fake main side: a species typed in the photo view is created and
 * set on the photo by one request, so it is one named edit for Undo; a merge is named with the
 * photos it moved, and a gallery filtered on the merged species follows them.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../shared/ipc.ts';
import type { ClassInfo } from '../../shared/types.ts';
import { pagedIds } from './fake-api.ts';

const fake = await vi.hoisted(async () => new (await import('./fake-api.ts')).FakeApi());
vi.mock('../../src-renderer/src/lib/api.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), api: fake }));

let speciesManager: typeof import('../../src-renderer/src/stores/species.svelte.ts').speciesManager;
let app: typeof import('../../src-renderer/src/stores/app.svelte.ts').app;
let gallery: typeof import('../../src-renderer/src/stores/gallery.svelte.ts').gallery;

const robin: ClassInfo = { id: 9, collectionId: 1, name: 'Robin', displayName: null, count: 1 };

beforeEach(async () => {
  vi.resetModules();
  fake.reset();
  ({ speciesManager } = await import('../../src-renderer/src/stores/species.svelte.ts'));
  ({ app } = await import('../../src-renderer/src/stores/app.svelte.ts'));
  ({ gallery } = await import('../../src-renderer/src/stores/gallery.svelte.ts'));
  fake.answer('images:query', pagedIds([1, 2, 3]));
  fake.answer('classes:list', () => [robin]);
});

describe('species from the photo view', () => {
  it('creates the species and labels the photo in one request: one edit for Undo, one notice', async () => {
    fake.answer('species:create', () => robin);
    await speciesManager.createAndLabel(1, 'Robin', [2]);
    expect(fake.requests('species:create')).toEqual([{ collectionId: 1, name: 'Robin', imageIds: [2] }]);
    expect(fake.requests('labels:set')).toEqual([]);
    expect(app.edits.undo).toEqual(['Added the species Robin and set it on 1 photo']);
    expect(app.toasts.map((t) => t.text)).toEqual(['Added the species Robin and set it on 1 photo']);
  });

  it('a refused name is said in words and records no edit', async () => {
    fake.answer('species:create', () => {
      throw new ApiError("there is already a species called 'Robin'", 'conflict');
    });
    await speciesManager.createAndLabel(1, 'robin', [2]);
    expect(app.edits.undo).toEqual([]);
    expect(app.toasts.at(-1)).toMatchObject({ error: true });
    expect(app.toasts.at(-1)?.text).toMatch(/already a species called 'Robin'/);
  });
});

describe('merge', () => {
  it('is named with the photos it moved; a gallery filtered on the merged species follows them', async () => {
    fake.answer('species:merge', () => ({ moved: 2 }));
    gallery.filters.classId = 4;
    await speciesManager.merge(4, 9, 'Wren', 'Robin');
    expect(app.edits.undo).toEqual(['Merged Wren into Robin (2 photos moved)']);
    expect(gallery.filters.classId).toBe(9);
    expect(fake.requests('images:query').at(-1)).toMatchObject({ classId: 9, offset: 0 });
  });
});
