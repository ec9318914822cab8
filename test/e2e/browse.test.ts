/**
 * End-to-end: looking at photos. "100%" in the photo view is one photo pixel per screen pixel
 * (a small photo is not stretched), the thumbnail-size slider resizes the tiles, and a caption
 * search shows on each tile the caption that matched.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSynthCollection, pickSearchWord, words, type SynthCollection } from './fixture.ts';
import { ARTIFACTS, type Served } from './serve.ts';
import { poll, useSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';

const spec = useSession('browse', (home) => makeSynthCollection(home, 4, 6));
let fx: SynthCollection;
let served: Served;
let page: Page;
let pageErrors: string[];
beforeAll(() => void ({ fx, served, page, pageErrors } = spec));

describe('browsing photos', () => {
  it('"100%" is one photo pixel per screen pixel, and + zooms from there', async () => {
    const gallery = new GalleryPage(page);
    await gallery.goto(served.url);
    await gallery.open(fx.images[2].fileName);
    const img = page.getByRole('group', { name: 'Photo' }).getByRole('img', { name: fx.images[2].fileName });
    await poll(() => img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBeGreaterThan(0);
    const natural = await img.evaluate((el: HTMLImageElement) => el.naturalWidth);
    await page.getByText('100%', { exact: true }).waitFor();
    // "100%" is also what the view says before it knows the photo's size: wait for the box itself.
    await poll(async () => Math.round((await img.boundingBox())!.width)).toBe(natural);
    await page.keyboard.press('+');
    await page.getByText('125%', { exact: true }).waitFor();
    await poll(async () => Math.round((await img.boundingBox())!.width)).toBe(Math.round(natural * 1.25));
    await page.screenshot({ path: join(ARTIFACTS, 'photo-true-scale.png') });
    await page.keyboard.press('Escape');
    expect(pageErrors).toEqual([]);
  });

  it('the thumbnail-size slider resizes the tiles', async () => {
    const gallery = new GalleryPage(page);
    await gallery.region.waitFor();
    const tile = gallery.tile(fx.images[0].fileName);
    const slider = page.getByRole('slider', { name: 'Thumbnail size' });
    await slider.fill('96');
    await poll(async () => Math.round((await tile.boundingBox())!.width)).toBe(96);
    await slider.fill('248');
    await poll(async () => Math.round((await tile.boundingBox())!.width)).toBe(248);
    await page.screenshot({ path: join(ARTIFACTS, 'thumbnail-size.png') });
    await slider.fill('168');
    expect(pageErrors).toEqual([]);
  });

  it('a caption search shows the matching caption on each tile', async () => {
    const gallery = new GalleryPage(page);
    const { word, hits } = pickSearchWord(fx.images);
    await gallery.searchFor(word);
    await poll(() => gallery.photoCount()).toBe(hits.size);
    // The tiles follow the count: wait until they show matching captions only, then check them.
    const notMatching = async () => (await gallery.region.locator('.match').allTextContents()).filter((t) => !words(t).some((w) => w.startsWith(word)));
    await poll(() => gallery.region.locator('.match').count()).toBeGreaterThan(0);
    await poll(notMatching).toEqual([]);
    const shown = await gallery.region.locator('.match').allTextContents();
    expect(shown.length).toBeGreaterThan(0);
    for (const text of shown) expect(words(text).some((w) => w.startsWith(word))).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'search-captions.png') });
    expect(pageErrors).toEqual([]);
  });
});
