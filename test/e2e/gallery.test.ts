/**
 * End-to-end: the built renderer in headless Chromium against `plumage serve` on a synthetic
 * collection (`plumage synth` + `plumage import cub`). Open, scroll, search, open a photo, edit a
 * caption (→ reload → persisted, history lists both texts), undo, bulk-label with Shift-click
 * (→ reload → persisted), keyboard, dialogs.
 * Screenshots of each main screen go to test-artifacts/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeSynthCollection, pickSearchWord, type SynthCollection, type SynthPhoto } from './fixture.ts';
import { ARTIFACTS, launchChromium, startServe, type Served } from './serve.ts';
import { newAppPage, reportFailure } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { speciesName } from '../../src-renderer/src/lib/names.ts';
import { PhotoPage } from './pages/PhotoPage.ts';
import { ImportDialogPage } from './pages/ImportDialogPage.ts';

const N = 96;
let home: string;
let fixture: SynthCollection;
let served: Served;
let browser: Browser;
let page: Page;
let gallery: GalleryPage;
let photo: PhotoPage;
let pageErrors: string[];
/** Photos in gallery order (sorted by path). */
let ordered: SynthPhoto[];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'plumage-e2e-'));
  fixture = makeSynthCollection(home, 4, N / 4);
  ordered = fixture.images;
  expect(ordered.length).toBe(N);
  [served, browser] = await Promise.all([startServe(home), launchChromium()]);
  ({ page, pageErrors } = await newAppPage(browser));
  gallery = new GalleryPage(page);
  photo = new PhotoPage(page);
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterEach(async (ctx) => {
  if (page && ctx.task.result?.state === 'fail') await reportFailure({ page, served }, ctx.task.name);
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** expect.poll with a timeout that suits a loaded 2-core machine (vitest's default is 1 s). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

async function reload() {
  await page.reload();
  await gallery.images.first().waitFor();
}

describe('gallery in browser mode', () => {
  // Each spec starts from a freshly loaded page, so specs do not lean on each other's UI state
  // (database changes made by earlier specs are real and stay).
  beforeEach(async () => {
    await gallery.goto(served.url);
  });

  it('shows the collection with alt = file name, virtualised', async () => {
    await gallery.goto(served.url);
    // The first tiles are shown before the whole first screen is: wait for it, then check it.
    await poll(async () => (await gallery.altTexts()).slice(0, 10)).toEqual(ordered.slice(0, 10).map((x) => x.fileName));
    const alts = await gallery.altTexts();
    expect(alts.length).toBeGreaterThan(10);
    // Only the rows in view (plus overscan) are in the DOM.
    expect(alts.length).toBeLessThan(N);
    await poll(() => gallery.photoCount()).toBe(N);
    // Thumbnails really load (token-authenticated /thumb route).
    const loaded = await gallery.images.first().evaluate((img: HTMLImageElement) =>
      img.decode().then(() => img.naturalWidth),
    );
    expect(loaded).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'gallery.png') });
  });

  it('scrolls to the end and shows the last photos', async () => {
    const last = ordered[N - 1].fileName;
    await expect(gallery.image(last).count()).resolves.toBe(0);
    await gallery.scrollToEnd();
    await gallery.image(last).waitFor();
    await poll(() => gallery.image(ordered[0].fileName).count()).toBe(0); // scrolled out of the DOM
    await gallery.scrollTo(0);
    await gallery.image(ordered[0].fileName).waitFor();
  });

  it('searches captions (FTS)', async () => {
    const { word, hits } = pickSearchWord(fixture.images);
    await gallery.searchFor(word);
    await poll(() => gallery.photoCount()).toBe(hits.size);
    // The count may change before the tiles do: wait until no tile of the unfiltered gallery is left.
    await poll(async () => (await gallery.altTexts()).filter((a) => !hits.has(a))).toEqual([]);
    const alts = await gallery.altTexts();
    expect(alts.length).toBeGreaterThan(0);
    expect(alts.length).toBe(Math.min(hits.size, alts.length));
    for (const a of alts) expect(hits.has(a), `${a} has no caption word starting with '${word}'`).toBe(true);
    await gallery.searchFor('');
    await poll(() => gallery.photoCount()).toBe(N);
  });

  it('edits a caption: saved on blur, survives a reload, history lists both texts; undo restores it', async () => {
    const target = ordered[2];
    await gallery.open(target.fileName);
    await poll(() => photo.title.textContent()).toBe(target.fileName);
    const original = target.captions[0];
    await poll(() => photo.caption.inputValue()).toBe(original);
    const edited = 'a small shrike with a green cap perched on a mossy twig';
    await photo.editCaption(edited);
    await page.screenshot({ path: join(ARTIFACTS, 'photo-view.png') });

    await reload();
    await gallery.open(target.fileName);
    await poll(() => photo.caption.inputValue()).toBe(edited);
    // The history is read apart from the photo: wait for both texts, then check the order.
    await poll(() => photo.historyTexts()).toEqual(expect.arrayContaining([edited, original]));
    const history = await photo.historyTexts();
    expect(history[0]).toBe(edited); // newest first

    // Undo from the gallery (Ctrl-Z), then check the photo and a reload.
    await photo.back();
    await page.keyboard.press('Control+z');
    await page.getByText(/Undid an edit/).waitFor();
    await gallery.open(target.fileName);
    await poll(() => photo.caption.inputValue()).toBe(original);
    await reload();
    await gallery.open(target.fileName);
    await poll(() => photo.caption.inputValue()).toBe(original);
    // Redo (Ctrl-Shift-Z) brings the edit back.
    await page.keyboard.press('Control+Shift+Z');
    await poll(() => photo.caption.inputValue()).toBe(edited);
    await photo.back();
  });

  it('saves a caption with Ctrl-Enter and navigates photos with the arrow keys', async () => {
    await gallery.open(ordered[5].fileName);
    await photo.caption.click();
    await photo.caption.fill('perched on a fence post in the rain');
    await page.keyboard.press('Control+Enter');
    await photo.details.getByText('Saved', { exact: true }).waitFor();
    await photo.caption.blur();
    await page.keyboard.press('ArrowRight');
    await poll(() => photo.title.textContent()).toBe(ordered[6].fileName);
    await page.keyboard.press('ArrowLeft');
    await poll(() => photo.title.textContent()).toBe(ordered[5].fileName);
    await poll(() => photo.caption.inputValue()).toBe('perched on a fence post in the rain');

    // Review status by button and by key; zoom with + and 0.
    const review = photo.details.getByRole('group', { name: 'Review status' });
    await review.getByRole('button', { name: 'accepted' }).click();
    await poll(() => review.getByRole('button', { name: 'accepted' }).getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('r');
    await poll(() => review.getByRole('button', { name: 'rejected' }).getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('+');
    await page.getByText('125%').waitFor();
    await page.keyboard.press('0');
    await page.getByText('100%').waitFor();
    await photo.back();
    await reload();
    await gallery.open(ordered[5].fileName);
    await poll(() => review.getByRole('button', { name: 'rejected' }).getAttribute('aria-pressed')).toBe('true');
    await photo.back();
  });

  it('bulk-labels a Shift-click range with the Species combobox; persisted after reload', async () => {
    const range = ordered.slice(10, 14);
    // A species none of the range has yet, typed by a word of its name (type-ahead).
    const species = fixture.classes.find((c) => !range.some((x) => x.classId === c.id))!;
    const typed = species.name.replace(/^\d+\./, '').split('_').pop()!.toLowerCase();
    await gallery.image(range[0].fileName).click();
    await gallery.image(range[3].fileName).click({ modifiers: ['Shift'] });
    await poll(() => gallery.status.textContent()).toMatch(/4 selected/);
    // Ctrl-click toggles one out and back in
    await gallery.image(range[1].fileName).click({ modifiers: ['Control'] });
    await poll(() => gallery.status.textContent()).toMatch(/3 selected/);
    await gallery.image(range[1].fileName).click({ modifiers: ['Control'] });
    await poll(() => gallery.status.textContent()).toMatch(/4 selected/);

    await gallery.bulkSpecies.fill(typed);
    const options = page.getByRole('listbox', { name: 'Species choices' }).getByRole('option');
    await options.first().waitFor();
    // Move to the wanted species if the type-ahead ranks another first.
    const names = await options.evaluateAll((els) => els.map((e) => (e.firstChild?.textContent ?? '').trim()));
    const at = names.indexOf(speciesName(species.name));
    expect(at).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < at; i++) await gallery.bulkSpecies.press('ArrowDown');
    await gallery.bulkSpecies.press('Enter');
    await page.getByText(`Set ${speciesName(species.name)} on 4 photos`).waitFor();
    await reload();
    const tilesOf = (photos: SynthPhoto[]) => Promise.all(photos.map((x) => gallery.tileSpecies(x.fileName)));
    await poll(() => tilesOf(range)).toEqual(range.map(() => speciesName(species.name)));
    // A neighbour outside the range is untouched.
    await poll(() => gallery.tileSpecies(ordered[14].fileName)).toBe(speciesName(ordered[14].className));

    // One Ctrl-Z undoes the whole bulk edit (one group), and that persists too.
    await gallery.scroller.focus();
    await page.keyboard.press('Control+z');
    await page.getByText('Undid an edit on 4 photos').waitFor();
    await reload();
    await poll(() => tilesOf(range)).toEqual(range.map((x) => speciesName(x.className)));
  });

  it('selects everything with Ctrl-A and clears with Esc', async () => {
    await gallery.scroller.focus();
    await page.keyboard.press('Control+a');
    await poll(() => gallery.status.textContent()).toMatch(new RegExp(`${N} selected`));
    await page.keyboard.press('Escape');
    await poll(() => gallery.status.textContent()).not.toMatch(/selected/);
  });

  it('opens with Enter from the keyboard and shows the shortcut sheet with ?', async () => {
    await gallery.scroller.focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await poll(() => photo.title.textContent()).toBe(ordered[1].fileName);
    await page.keyboard.press('Escape');
    await gallery.region.waitFor();

    await page.keyboard.press('?');
    const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await sheet.waitFor();
    for (const text of ['Undo the last label', 'Next photo', 'Apply model suggestion 1', 'Select every photo']) {
      expect(await sheet.getByText(text).count()).toBeGreaterThan(0);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'shortcut-sheet.png') });
    await page.keyboard.press('Escape');
    await poll(() => sheet.count()).toBe(0);
  });

  it('imports a folder with a bad file and shows progress and the bad-file report', async () => {
    const incoming = join(home, 'incoming');
    mkdirSync(join(incoming, 'Sparrow'), { recursive: true });
    const sharp = (await import('sharp')).default;
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#a0522d' } }).jpeg().toFile(join(incoming, 'Sparrow', 'good.jpg'));
    writeFileSync(join(incoming, 'Sparrow', 'broken.jpg'), 'this is not a jpeg');
    const dlg = new ImportDialogPage(page);
    await dlg.open();
    await dlg.start('Plain folder', incoming);
    await dlg.report.waitFor({ timeout: 30_000 });
    await poll(() => dlg.report.textContent()).toMatch(/broken\.jpg/);
    await page.screenshot({ path: join(ARTIFACTS, 'import-dialog.png') });
    await page.keyboard.press('Escape');
    await poll(() => dlg.dialog.count()).toBe(0);
    await poll(() => gallery.photoCount()).toBe(N + 1);
    // The import took its path with it: opened again, the dialog keeps the kind, not the path.
    await dlg.open();
    expect(await dlg.dialog.getByRole('radio', { name: /Plain folder/ }).isChecked()).toBe(true);
    expect(await dlg.dialog.getByRole('textbox', { name: 'Path' }).inputValue()).toBe('');
    await page.keyboard.press('Escape');
    await poll(() => dlg.dialog.count()).toBe(0);
  });

  it('Retrain and Caption folder answer with progress or a structured error, never a crash', async () => {
    await page.getByRole('button', { name: 'Retrain' }).click();
    // Either the job starts (the Retrain panel, a modal, opens) or the api's error shows as a toast.
    const panel = page.getByRole('dialog', { name: 'Retrain' });
    const toasts = page.getByRole('status', { name: 'Notifications' });
    await poll(async () => (await panel.count()) > 0 || /Training: /.test((await toasts.textContent()) ?? '')).toBe(true);
    if (await panel.count()) {
      await page.keyboard.press('Escape');
      await poll(() => panel.count()).toBe(0);
    }
    await page.getByRole('button', { name: 'Caption folder' }).click();
    const form = page.getByRole('region', { name: 'Batch captions' }).getByRole('form', { name: 'Caption a folder' });
    await form.getByRole('textbox', { name: 'Folder' }).fill(join(home, 'incoming'));
    await form.getByRole('button', { name: 'Start' }).click();
    const batch = page.getByRole('region', { name: 'Batch captions' });
    await poll(async () => (await batch.getByRole('alert').count()) + (await batch.getByRole('progressbar').count()))
      .toBeGreaterThan(0);
    await page.keyboard.press('Escape');
    expect(pageErrors).toEqual([]);
  });
});
