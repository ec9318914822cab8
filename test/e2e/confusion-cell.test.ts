/**
 * End-to-end: a confusion-matrix cell's photos in the gallery. Opening a cell shows exactly its
 * photos (filters left over in the toolbar start empty); the toolbar's filters then narrow the
 * cell's photos — "the ones I have not reviewed yet" — instead of being silently ignored while the
 * chip is shown. Clearing the chip keeps the filters, over every photo.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { addEvaluatedRun, makeSynthCollection } from './fixture.ts';
import { type Served } from './serve.ts';
import { poll, readStored, useSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { RunsPage } from './pages/RunsPage.ts';

const spec = useSession('cell', (home) => {
  const fx = makeSynthCollection(home, 3, 8);
  return { ...fx, runId: addEvaluatedRun(home) };
});
let served: Served;
let page: Page;
let pageErrors: string[];
beforeAll(() => void ({ served, page, pageErrors } = spec));

/** The chip's count: "(n)", or "(k of n)" while the toolbar's filters narrow the cell's photos. */
const chipCount = async (page: Page) => /\(([^)]*)\)/.exec((await page.getByTitle('Only these photos are shown').textContent()) ?? '')?.[1];
const stored = (sql: string): number => readStored(spec.home, (db) => (db.prepare(sql).get() as { n: number }).n);

describe('a confusion cell in the gallery', () => {
  it('shows exactly its photos, which the toolbar filters then narrow', async () => {
    const gallery = new GalleryPage(page);
    const reviewFilter = page.getByRole('combobox', { name: 'Filter by review status' });
    await gallery.goto(served.url);
    const all = spec.fx.images.length;
    await poll(() => gallery.photoCount()).toBe(all);
    // A filter left on from earlier work: opening a cell starts without it.
    await reviewFilter.selectOption('fixed');
    await page.getByText('No photos match these filters.').waitFor();

    const runs = new RunsPage(page);
    await runs.open();
    await runs.region.getByRole('button', { name: new RegExp(`(^| )${spec.fx.runId} `) }).click();
    await runs.confusion.waitFor();
    const cell = runs.confusion.getByRole('button', { disabled: false }).first();
    const n = Number(await cell.textContent());
    expect(n).toBeGreaterThan(1);
    await cell.click();
    await gallery.region.waitFor();
    const chip = page.getByRole('button', { name: 'Clear photo filter' });
    await chip.waitFor();
    await poll(() => gallery.photoCount()).toBe(n);
    expect(await reviewFilter.inputValue()).toBe('');
    expect(await chipCount(page)).toBe(String(n));

    // Accept one of the cell's photos, then ask for the cell's unreviewed photos: one fewer.
    const names = await gallery.altTexts();
    expect(names).toHaveLength(n);
    await gallery.image(names[0]).click();
    await page.getByRole('toolbar', { name: 'Bulk edit' }).getByRole('button', { name: 'accepted' }).click();
    await poll(() => stored(`SELECT count(*) AS n FROM images WHERE review_status = 'accepted'`)).toBe(1);
    await reviewFilter.selectOption('unreviewed');
    await poll(() => gallery.photoCount()).toBe(n - 1);
    expect(await gallery.altTexts()).toEqual(names.slice(1));
    await chip.waitFor();
    await poll(() => chipCount(page)).toBe(`${n - 1} of ${n}`);
    // None of the cell's photos is "fixed": the filter says so rather than showing them all.
    await reviewFilter.selectOption('fixed');
    await page.getByText('No photos match these filters.').waitFor();
    expect(await gallery.photoCount()).toBe(0);
    await poll(() => chipCount(page)).toBe(`0 of ${n}`);

    // Clearing the chip keeps the toolbar's filter, now over every photo.
    await reviewFilter.selectOption('unreviewed');
    await poll(() => gallery.photoCount()).toBe(n - 1);
    await chip.click();
    await poll(() => gallery.photoCount()).toBe(all - 1);
    expect(pageErrors).toEqual([]);
  });
});
