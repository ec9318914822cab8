/**
 * The gallery store's own logic against a fake main side: filters → query, the id filter, the
 * selection, focus and moving between the gallery and the photo view, and paging. Each test gets
 * fresh store modules, so no state leaks between tests.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { later, pagedIds } from './fake-api.ts';

const fake = await vi.hoisted(async () => new (await import('./fake-api.ts')).FakeApi());
vi.mock('../../src-renderer/src/lib/api.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), api: fake }));

let gallery: typeof import('../../src-renderer/src/stores/gallery.svelte.ts').gallery;
let app: typeof import('../../src-renderer/src/stores/app.svelte.ts').app;

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

beforeEach(async () => {
  // Fresh stores for every test; the fake main side stays one object, emptied.
  vi.resetModules();
  fake.reset();
  ({ gallery } = await import('../../src-renderer/src/stores/gallery.svelte.ts'));
  ({ app } = await import('../../src-renderer/src/stores/app.svelte.ts'));
  fake.answer('images:query', pagedIds(range(1, 10)));
  fake.answer('classes:list', () => []);
});

describe('filters', () => {
  it('sends only the filters that narrow, with the search trimmed, and says whether any does', async () => {
    expect(gallery.filtered).toBe(false);
    Object.assign(gallery.filters, { collectionId: 2, classId: 7, split: 'test', reviewStatus: 'accepted', search: '  red bird ', sort: 'disagreement' });
    expect(gallery.filtered).toBe(true);
    await gallery.applyFilters();
    expect(fake.requests('images:query')).toEqual([
      { sort: 'disagreement', collectionId: 2, classId: 7, split: 'test', reviewStatus: 'accepted', search: 'red bird', offset: 0, limit: 240 },
    ]);
    gallery.filters.search = '   ';
    Object.assign(gallery.filters, { collectionId: null, classId: null, split: '', reviewStatus: '' });
    expect(gallery.filtered).toBe(false);
    expect(gallery.query()).toEqual({ sort: 'disagreement' });
  });

  it('a new query starts from the top with nothing selected', async () => {
    await gallery.applyFilters();
    await gallery.click(3, {});
    gallery.galleryScroll = 500;
    gallery.filters.provenance = 'human';
    await gallery.applyFilters();
    expect(gallery.selection.ids.size).toBe(0);
    expect(gallery.focusIndex).toBe(0);
    expect(gallery.galleryScroll).toBe(0);
    expect(gallery.total).toBe(10);
    expect(gallery.loaded).toBe(true);
  });

  it('a query the main side refuses shows its error as a toast', async () => {
    fake.answer('images:query', () => {
      throw new Error('the search is too long');
    });
    await gallery.applyFilters();
    expect(app.toasts.map((t) => [t.text, t.error])).toEqual([['the search is too long', true]]);
  });

  it('an id filter (a confusion cell) shows exactly those photos, starting without other filters, which then narrow them, until cleared', async () => {
    fake.answer('images:query', pagedIds([...range(1, 10), 42]));
    Object.assign(gallery.filters, { reviewStatus: 'accepted', search: 'red', sort: 'disagreement' });
    app.view = 'runs';
    await gallery.showIds([42, 7], 'Cardinal taken for Blue Jay');
    expect(app.view).toBe('gallery');
    expect(gallery.filtered).toBe(true);
    expect(gallery.total).toBe(2);
    expect([0, 1].map((i) => gallery.pages.idAt(i))).toEqual([7, 42]);
    // The toolbar's filters start empty (the order stays); the cell's ids go with the query.
    expect(fake.requests('images:query').at(-1)).toEqual({ sort: 'disagreement', ids: [42, 7], offset: 0, limit: 240 });
    gallery.filters.reviewStatus = 'unreviewed';
    await gallery.applyFilters();
    expect(fake.requests('images:query').at(-1)).toEqual({ sort: 'disagreement', reviewStatus: 'unreviewed', ids: [42, 7], offset: 0, limit: 240 });
    fake.answer('images:query', pagedIds(range(1, 10)));
    await gallery.clearIds();
    expect(gallery.total).toBe(10);
    expect(gallery.pages.idAt(0)).toBe(1);
  });

  it("the cell's chip counts the photos the grid shows: the toolbar's filters narrow it", async () => {
    const unreviewed = [42];
    fake.answer('images:query', (q) => pagedIds(q.reviewStatus === 'unreviewed' ? unreviewed : [...range(1, 10), 42])(q));
    await gallery.showIds([42, 7, 3], 'Cardinal taken for Blue Jay');
    expect(gallery.idsCount).toBe('3');
    gallery.filters.reviewStatus = 'unreviewed';
    await gallery.applyFilters();
    expect(gallery.total).toBe(1);
    expect(gallery.idsCount).toBe('1 of 3');
    gallery.filters.reviewStatus = '';
    await gallery.applyFilters();
    expect(gallery.idsCount).toBe('3');
  });
});

describe('what the shell asks of the photo list', () => {
  it('the gallery registers itself with the shell: an edit re-reads the pages it has loaded', async () => {
    fake.answer('images:query', pagedIds(range(1, 500)));
    await gallery.applyFilters();
    await gallery.open(300);
    await gallery.step(0); // loads the page of photo 300
    fake.calls.length = 0;
    await app.afterEdit([301], null);
    expect(fake.requests('images:query').map((q) => q.offset)).toEqual([0, 240]);
  });

  it('after an import an empty gallery queries again; one with photos re-reads its first page in place', async () => {
    fake.answer('images:query', pagedIds([]));
    await gallery.applyFilters();
    expect(gallery.total).toBe(0);
    fake.answer('images:query', pagedIds([1, 2]));
    await gallery.afterImport();
    expect(gallery.total).toBe(2);
    gallery.focusIndex = 1;
    fake.answer('images:query', pagedIds([1, 2, 3]));
    await gallery.afterImport();
    expect(gallery.total).toBe(3);
    expect(gallery.focusIndex).toBe(1); // re-read in place: the focus stays
  });
});

describe('selection', () => {
  beforeEach(() => gallery.applyFilters());

  it('click selects one, Shift-click a range from the anchor, Ctrl-click toggles; focus follows the click', async () => {
    await gallery.click(2, {});
    expect([...gallery.selection.ids]).toEqual([3]);
    await gallery.click(5, { shift: true });
    expect([...gallery.selection.ids].sort((a, b) => a - b)).toEqual([3, 4, 5, 6]);
    expect(gallery.focusIndex).toBe(5);
    await gallery.click(4, { toggle: true });
    expect(gallery.selection.ids.has(5)).toBe(false);
    gallery.clearSelection();
    expect(gallery.selection.ids.size).toBe(0);
  });

  it('select all takes every photo of the query from one answer of ids, without reading the pages not seen yet', async () => {
    fake.answer('images:query', pagedIds(range(1, 500)));
    gallery.filters.reviewStatus = 'unreviewed';
    await gallery.applyFilters();
    await gallery.selectAll();
    expect(gallery.selection.ids).toEqual(new Set(range(1, 500)));
    expect(fake.requests('images:query').map((q) => q.offset)).toEqual([0, 0]);
    expect(fake.requests('images:ids')).toEqual([{ sort: 'path', reviewStatus: 'unreviewed' }]);
    // a confusion cell's photos: its ids go with the question
    await gallery.showIds([7, 400], 'Cardinal taken for Blue Jay');
    await gallery.selectAll();
    expect(gallery.selection.ids).toEqual(new Set([7, 400]));
    expect(fake.requests('images:ids').at(-1)).toEqual({ sort: 'path', ids: [7, 400] });
  });

  it('an answer of ids for a query that has changed since selects nothing', async () => {
    fake.answer('images:query', pagedIds(range(1, 500)));
    await gallery.applyFilters();
    const late = later<{ ids: number[] }>();
    fake.answer('images:ids', () => late.promise);
    const selecting = gallery.selectAll();
    gallery.filters.classId = 3;
    await gallery.applyFilters();
    late.resolve({ ids: range(1, 500) });
    await selecting;
    expect(gallery.selection.ids.size).toBe(0);
  });

  it('after an edit, selected photos further down the list than the pages read are checked against the ids, not by reading every page', async () => {
    fake.answer('images:query', pagedIds(range(1, 500)));
    await gallery.applyFilters();
    await gallery.selectAll();
    // an edit takes photos 2 and 450 out of the filtered list
    fake.answer('images:query', pagedIds(range(1, 500).filter((id) => id !== 2 && id !== 450)));
    fake.calls.length = 0;
    await gallery.refresh();
    expect(fake.requests('images:query').map((q) => q.offset)).toEqual([0]);
    expect(fake.requests('images:ids')).toHaveLength(1);
    expect(gallery.selection.ids.size).toBe(498);
    expect(gallery.selection.ids.has(450)).toBe(false);
    expect(app.toasts.at(-1)?.text).toBe('2 selected photos no longer match the filters: they left the list and the selection');
  });
});

describe('moving between the gallery and the photo view', () => {
  beforeEach(() => gallery.applyFilters());

  it('open focuses the photo and shows it; an index outside the list does nothing', async () => {
    await gallery.open(4);
    expect([gallery.focusIndex, app.view]).toEqual([4, 'photo']);
    await gallery.open(10);
    await gallery.open(-1);
    expect(gallery.focusIndex).toBe(4);
  });

  it('step saves a pending caption first and stops at both ends of the list', async () => {
    const saved: number[] = [];
    app.flushEdits = async () => (saved.push(gallery.focusIndex), true);
    await gallery.open(8);
    await gallery.step(1);
    await gallery.step(1);
    expect(gallery.focusIndex).toBe(9);
    await gallery.step(-20);
    expect(gallery.focusIndex).toBe(0);
    expect(saved).toEqual([8, 9, 9]);
    await gallery.back();
    expect(app.view).toBe('gallery');
    expect(saved).toHaveLength(4);
  });

  it('stepping onto a page not loaded yet loads it first', async () => {
    fake.answer('images:query', pagedIds(range(1, 500)));
    await gallery.applyFilters();
    await gallery.open(239);
    await gallery.step(1);
    expect(gallery.focusIndex).toBe(240);
    expect(gallery.pages.at(240)?.id).toBe(241);
    expect(fake.requests('images:query').at(-1)).toMatchObject({ offset: 240, limit: 240 });
  });

  it('openId finds a photo in the list; one outside it is looked for in "most disputed" order without filters', async () => {
    await gallery.openId(6);
    expect([gallery.focusIndex, app.view]).toEqual([5, 'photo']);
    gallery.filters.classId = 3;
    fake.answer('images:query', (q) => (q.classId === 3 ? pagedIds([1, 2])(q) : pagedIds([9, 77, 5])(q)));
    await gallery.applyFilters();
    await gallery.openId(77);
    expect(gallery.filters).toMatchObject({ classId: null, sort: 'disagreement' });
    expect(gallery.focusIndex).toBe(1);
    await gallery.openId(1234);
    expect(app.toasts.at(-1)).toMatchObject({ text: 'photo 1234 is not in the gallery', error: true });
  });

  it('next disputed asks after the open photo (not the focused tile) and within the shown collection', async () => {
    const asked: unknown[] = [];
    fake.answer('images:nextDisputed', (req) => (asked.push(req), { imageId: asked.length === 1 ? 3 : null }));
    gallery.filters.collectionId = 4;
    gallery.focusIndex = 1;
    await gallery.nextDisputed();
    expect(asked[0]).toEqual({ collectionId: 4 });
    expect([gallery.focusIndex, app.view]).toEqual([2, 'photo']);
    await gallery.nextDisputed();
    expect(asked[1]).toEqual({ afterId: 3, collectionId: 4 });
    expect(app.toasts.at(-1)?.text).toMatch(/^No more disputed photos/);
  });
});
