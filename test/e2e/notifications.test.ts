/**
 * End-to-end: feedback the curator can see and hear. Saves and errors arrive as toasts in one
 * role="status" live region (no error codes on screen); Undo / Redo are buttons whose tooltip says
 * what they will undo, and they change the database like Ctrl-Z / Ctrl-Shift-Z, also when Ctrl-Z
 * follows an edit before its answer came.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { anotherSpecies, makeSynthCollection, type SynthCollection } from './fixture.ts';
import { ARTIFACTS, type Served } from './serve.ts';
import { poll, readStored, useSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { PhotoPage } from './pages/PhotoPage.ts';

const spec = useSession('toast', (home) => makeSynthCollection(home, 4, 6));
let fx: SynthCollection;
let served: Served;
let page: Page;
let pageErrors: string[];
beforeAll(() => void ({ fx, served, page, pageErrors } = spec));

const storedClass = (imageId: number): number | null =>
  readStored(spec.home, (db) => (db.prepare('SELECT class_id AS c FROM labels WHERE image_id = ?').get(imageId) as { c: number | null } | undefined)?.c ?? null);
const storedCaption = (imageId: number): string =>
  readStored(spec.home, (db) => (db.prepare('SELECT text FROM captions WHERE image_id = ? AND deleted = 0 ORDER BY ord LIMIT 1').get(imageId) as { text: string }).text);

describe('notifications and undo buttons', () => {
  it('a save and an error appear as toasts in the live region, without error codes', async () => {
    const gallery = new GalleryPage(page);
    const photo = new PhotoPage(page);
    const toasts = page.getByRole('status', { name: 'Notifications' });
    await gallery.goto(served.url);
    await gallery.open(fx.images[1].fileName);
    await photo.editCaption('a tidy little bird with a pale belly');
    await toasts.getByText('Caption saved').waitFor();
    // Too long for the api: refused with a sentence, and no "(invalid_request)"-style code.
    await photo.caption.fill('x'.repeat(10_050));
    await photo.caption.blur();
    const problem = toasts.getByText(/^Problem: Caption not saved/);
    await problem.waitFor();
    const said = (await problem.textContent()) ?? '';
    expect(said).toContain('too long (at most 10,000 characters)');
    expect(said).not.toMatch(/\([a-z]+_[a-z_]+\)|captions:save/);
    await page.screenshot({ path: join(ARTIFACTS, 'toasts.png') });
    await photo.caption.fill('a tidy little bird with a pale belly');
    await photo.caption.blur();
    await photo.back();
    expect(pageErrors).toEqual([]);
  });

  it('Undo and Redo buttons say what they will undo and act on the database', async () => {
    const gallery = new GalleryPage(page);
    const photo = new PhotoPage(page);
    const im = fx.images[0];
    const other = anotherSpecies(fx, im);
    await gallery.open(im.fileName);
    await photo.pickSpecies(other.label, other.label);
    await poll(() => storedClass(im.id)).toBe(other.id);
    const undo = page.getByRole('button', { name: 'Undo', exact: true });
    const redo = page.getByRole('button', { name: 'Redo', exact: true });
    await poll(() => undo.getAttribute('title')).toBe(`Undo: Set ${other.label} on 1 photo (Ctrl+Z)`);
    await page.screenshot({ path: join(ARTIFACTS, 'undo-button.png') });
    await undo.click();
    await poll(() => storedClass(im.id)).toBe(im.classId);
    await poll(() => redo.getAttribute('title')).toBe(`Redo: Set ${other.label} on 1 photo (Ctrl+Shift+Z)`);
    await redo.click();
    await poll(() => storedClass(im.id)).toBe(other.id);
    await poll(() => photo.species.inputValue()).toBe(other.label);
    expect(pageErrors).toEqual([]);
  });

  it('Ctrl-Z pressed right after an edit undoes that edit, and the buttons name it', async () => {
    const gallery = new GalleryPage(page);
    const im = fx.images[0];
    const undo = page.getByRole('button', { name: 'Undo', exact: true });
    const redo = page.getByRole('button', { name: 'Redo', exact: true });
    const review = () => readStored(spec.home, (db) => (db.prepare('SELECT review_status AS r FROM images WHERE id = ?').get(im.id) as { r: string }).r);
    await gallery.goto(served.url);
    await gallery.open(im.fileName);
    // Both keys before the accept has been answered.
    await page.evaluate(() => {
      const key = (k: string, ctrlKey = false) => window.dispatchEvent(new KeyboardEvent('keydown', { key: k, ctrlKey, bubbles: true }));
      key('a');
      key('z', true);
    });
    await poll(() => redo.getAttribute('title')).toBe('Redo: Marked 1 photo accepted (Ctrl+Shift+Z)');
    expect(review()).toBe('unreviewed');
    expect(await undo.getAttribute('title')).toBe('Undo: the last edit (Ctrl+Z)'); // made before this page was loaded
    await redo.click();
    await poll(() => review()).toBe('accepted');
    await poll(() => undo.getAttribute('title')).toBe('Undo: Marked 1 photo accepted (Ctrl+Z)');
    expect(pageErrors).toEqual([]);
  });

  it('Undo while a caption is being typed takes back that typing, never an earlier edit under it', async () => {
    const gallery = new GalleryPage(page);
    const photo = new PhotoPage(page);
    const im = fx.images[2];
    const other = anotherSpecies(fx, im);
    const undo = page.getByRole('button', { name: 'Undo', exact: true });
    await gallery.goto(served.url);
    await gallery.open(im.fileName);
    await photo.pickSpecies(other.label, other.label);
    await poll(() => storedClass(im.id)).toBe(other.id);
    const before = storedCaption(im.id);
    // Typed, not yet saved: the button saves it (the field's blur) and undoes that save.
    await photo.caption.click();
    await photo.caption.fill('a bird typed a moment ago');
    await undo.click();
    await poll(() => photo.caption.inputValue()).toBe(before);
    expect(storedCaption(im.id)).toBe(before);
    expect(storedClass(im.id)).toBe(other.id);
    // Typed text the api refuses: Undo stops, the species stays and so does the text.
    const refused = 'x'.repeat(10_050);
    await photo.caption.click();
    await photo.caption.fill(refused);
    await undo.click();
    await page.getByRole('status', { name: 'Notifications' }).getByText(/^Problem: Caption not saved/).waitFor();
    expect(await photo.caption.inputValue()).toBe(refused);
    // Text the api takes: the next Undo saves it and takes it back, and the species set above is
    // still there (undo calls run one at a time, so a refused Undo that had gone on would show here).
    await photo.caption.fill('a second try at it');
    await undo.click();
    await poll(() => photo.caption.inputValue()).toBe(before);
    expect(storedCaption(im.id)).toBe(before);
    expect(storedClass(im.id)).toBe(other.id);
    expect(await undo.getAttribute('title')).toBe(`Undo: Set ${other.label} on 1 photo (Ctrl+Z)`);
    // Ctrl-Z in the field is the field's own undo.
    await photo.caption.click();
    await photo.caption.press('End');
    await page.keyboard.type(' and more');
    await photo.caption.press('Control+z');
    expect(storedClass(im.id)).toBe(other.id);
    await photo.caption.press('Escape');
    expect(pageErrors).toEqual([]);
  });
});
