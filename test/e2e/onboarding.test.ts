/**
 * End-to-end: an empty workspace opens on a welcome screen (what Plumage does, "Import photos",
 * "Try the demo data"); the demo button draws synthetic birds into a fresh collection, with
 * progress, and the gallery shows them under plain species names.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type Served } from './serve.ts';
import { readStored, useSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { ImportDialogPage } from './pages/ImportDialogPage.ts';

// An empty workspace: nothing to prepare.
const spec = useSession('welcome', () => undefined);
let served: Served;
let page: Page;
let pageErrors: string[];
beforeAll(() => void ({ served, page, pageErrors } = spec));
const poll = <T>(fn: () => T | Promise<T>, timeout = 60_000) => expect.poll(fn, { timeout, interval: 200 });

function collections(): { name: string; photos: number }[] {
  return readStored(spec.home, (db) =>
    db.prepare('SELECT c.name, (SELECT count(*) FROM images i WHERE i.collection_id = c.id) AS photos FROM collections c').all() as {
      name: string;
      photos: number;
    }[],
  );
}

describe('onboarding', () => {
  it('an empty workspace explains Plumage and offers "Import photos" and "Try the demo data"', async () => {
    await page.goto(served.url);
    const welcome = page.getByRole('region', { name: 'Welcome' });
    await poll(() => welcome.textContent(), 15_000).toMatch(/species/);
    await poll(() => welcome.textContent(), 15_000).toMatch(/caption/);
    await page.screenshot({ path: join(ARTIFACTS, 'onboarding.png') });
    await welcome.getByRole('button', { name: 'Import photos', exact: true }).click();
    const dialog = new ImportDialogPage(page);
    await dialog.dialog.waitFor();
    await page.keyboard.press('Escape');
    await poll(() => dialog.dialog.count(), 5000).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('"Try the demo data" fills a fresh collection with synthetic birds', async () => {
    const welcome = page.getByRole('region', { name: 'Welcome' });
    await welcome.getByRole('button', { name: 'Try the demo data' }).click();
    const gallery = new GalleryPage(page);
    await gallery.images.first().waitFor({ timeout: 120_000 });
    await poll(() => gallery.photoCount()).toBe(72);
    await poll(collections).toEqual([{ name: 'Demo birds', photos: 72 }]);
    await poll(() => welcome.count()).toBe(0);
    // The finished job is announced in the live region; species read as names, not raw ids.
    await page.getByRole('status', { name: 'Notifications' }).getByText('The demo birds are ready').waitFor();
    const first = (await gallery.altTexts())[0];
    // Polled for a species line at all, so an empty line (not drawn yet) cannot pass the check below.
    await poll(() => gallery.tileSpecies(first)).not.toBe('');
    expect(await gallery.tileSpecies(first)).not.toMatch(/_|^\d+\./);
    await page.screenshot({ path: join(ARTIFACTS, 'onboarding-demo.png') });
    expect(pageErrors).toEqual([]);
  }, 240_000); // the demo data may take up to 120 s to appear on a busy machine
});
