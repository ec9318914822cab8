/**
 * End-to-end: reviewing through a filtered gallery. Accepting a photo while the gallery shows
 * "Unreviewed" takes it out of the list; the photo view keeps showing that photo (not whichever
 * slid into its place, and never an endless "Loading…" when it was the last one), says it left
 * the list, and ‹ / › go on from where it was. Undo brings it back into the list. A bulk edit that
 * takes the selected photos out of the list takes them out of the selection too, so the next bulk
 * edit changes only what is on screen. A list the filters leave empty offers "Show all photos".
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSynthCollection } from './fixture.ts';
import { type Served } from './serve.ts';
import { poll, readStored, useSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { PhotoPage } from './pages/PhotoPage.ts';

const spec = useSession('filtered', (home) => makeSynthCollection(home, 2, 3));
let served: Served;
let page: Page;
let pageErrors: string[];
beforeAll(() => void ({ served, page, pageErrors } = spec));

const review = (fileName: string): string =>
  readStored(spec.home, (db) => (db.prepare('SELECT review_status AS r FROM images WHERE file_name = ?').get(fileName) as { r: string }).r);

describe('reviewing a filtered list', () => {
  it('the photo an edit takes out of the list stays open; ‹ and › go on from its place', async () => {
    const gallery = new GalleryPage(page);
    const photo = new PhotoPage(page);
    await gallery.goto(served.url);
    await page.getByRole('combobox', { name: 'Filter by review status' }).selectOption('unreviewed');
    await poll(() => gallery.photoCount()).toBe(6);
    const names = await gallery.altTexts();
    expect(names).toHaveLength(6);
    const position = photo.details.getByText(/^[–\d]+ \/ \d+$/);
    const left = photo.details.getByRole('status').filter({ hasText: 'No longer in the gallery' });

    // A photo in the middle: accepted, it stays on screen, marked as out of the list.
    await gallery.open(names[1]);
    await page.keyboard.press('a');
    await poll(() => review(names[1])).toBe('accepted');
    await poll(() => position.textContent()).toBe('– / 5');
    expect(await photo.title.textContent()).toBe(names[1]);
    await left.waitFor();
    await photo.details.locator('button[aria-pressed="true"]', { hasText: 'accepted' }).waitFor();
    // › shows the photo that took its place, ‹ from there the one before.
    await page.getByRole('button', { name: 'Next photo' }).click();
    await poll(() => photo.title.textContent()).toBe(names[2]);
    expect(await position.textContent()).toBe('2 / 5');
    expect(await left.count()).toBe(0);
    await page.getByRole('button', { name: 'Previous photo' }).click();
    await poll(() => photo.title.textContent()).toBe(names[0]);
    expect(await position.textContent()).toBe('1 / 5');

    // The last photo of the list: accepted, it stays on screen (it used to leave "Loading…").
    await photo.back();
    await gallery.open(names[5]);
    await page.keyboard.press('a');
    await poll(() => position.textContent()).toBe('– / 4');
    expect(await photo.title.textContent()).toBe(names[5]);
    expect(await page.getByRole('button', { name: 'Next photo' }).isDisabled()).toBe(true);
    // Undo puts it back in the list, at its place.
    await page.keyboard.press('Control+z');
    await poll(() => review(names[5])).toBe('unreviewed');
    await poll(() => position.textContent()).toBe('5 / 5');
    await page.keyboard.press('a');
    await poll(() => position.textContent()).toBe('– / 4');
    await page.getByRole('button', { name: 'Previous photo' }).click();
    await poll(() => photo.title.textContent()).toBe(names[4]);
    expect(await position.textContent()).toBe('4 / 4');
    await photo.back();
    expect(await gallery.photoCount()).toBe(4);
    expect(pageErrors).toEqual([]);
  });

  it('selected photos a bulk edit takes out of the list leave the selection; the next bulk edit changes only what is shown; an empty list offers every photo again', async () => {
    const gallery = new GalleryPage(page);
    await gallery.goto(served.url);
    await page.getByRole('combobox', { name: 'Filter by review status' }).selectOption('unreviewed');
    await poll(() => gallery.photoCount()).toBe(4);
    const names = await gallery.altTexts();
    expect(names).toHaveLength(4);
    const bulk = page.getByRole('toolbar', { name: 'Bulk edit' });
    const selected = async () => /(\d+) selected/.exec((await gallery.status.textContent()) ?? '')?.[1] ?? 'none';

    await gallery.image(names[0]).click();
    await gallery.image(names[2]).click({ modifiers: ['Shift'] });
    await poll(selected).toBe('3');
    await bulk.getByRole('button', { name: 'accepted' }).click();
    await poll(() => gallery.photoCount()).toBe(1);
    for (const n of names.slice(0, 3)) expect(review(n)).toBe('accepted');
    // The three are gone from the list, so from the selection: no bulk bar counting photos not shown.
    await poll(selected).toBe('none');
    await poll(() => bulk.count()).toBe(0);
    // The focus the bar's button held goes back to the photos (arrow keys, Enter), not to the page.
    await poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Photos');
    await page.getByRole('status', { name: 'Notifications' }).getByText('3 selected photos no longer match the filters').waitFor();

    // Adding the one photo left (Ctrl-click) and rejecting it rejects that photo only.
    await gallery.image(names[3]).click({ modifiers: ['Control'] });
    await poll(selected).toBe('1');
    await bulk.getByRole('button', { name: 'rejected' }).click();
    await poll(() => review(names[3])).toBe('rejected');
    for (const n of names.slice(0, 3)) expect(review(n)).toBe('accepted');
    await page.getByText('No photos match these filters.').waitFor();
    // The empty list offers the way back to every photo, and the filter says so.
    await page.getByRole('button', { name: 'Show all photos' }).click();
    await poll(() => gallery.photoCount()).toBe(6);
    expect(await page.getByRole('combobox', { name: 'Filter by review status' }).inputValue()).toBe('');
    await poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Photos');
    expect(pageErrors).toEqual([]);
  });

  it('heat maps before any model is trained say so in plain words, with the way forward', async () => {
    const gallery = new GalleryPage(page);
    await gallery.goto(served.url);
    const names = await gallery.altTexts();
    await gallery.open(names[0]);
    await page.keyboard.press('h');
    const alert = page.getByRole('alert').filter({ hasText: 'heat maps' });
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toMatch(/^No heat maps yet: .*Retrain/);
    expect(text).not.toMatch(/could not find|run to explain/);
    await page.keyboard.press('h');
    await new PhotoPage(page).back();
    expect(pageErrors).toEqual([]);
  });
});
