/**
 * End-to-end: the keyboard never traps the curator. Choosing a species with Enter leaves the
 * field, so the next key is a shortcut again (not typed into the field); Esc steps back one layer
 * at a time (close the list, leave the field, then leave the photo); a shortcut pressed the moment
 * a dialog closes already reaches the app; Esc on the Retrain panel loses nothing typed into it.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { speciesName } from '../../src-renderer/src/lib/names.ts';
import { makeSynthCollection, type SynthCollection } from './fixture.ts';
import { ARTIFACTS, type Served } from './serve.ts';
import { poll, readStored, useSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { PhotoPage } from './pages/PhotoPage.ts';

const spec = useSession('keys', (home) => makeSynthCollection(home, 4, 6));
let fx: SynthCollection;
let served: Served;
let page: Page;
let pageErrors: string[];
beforeAll(() => void ({ fx, served, page, pageErrors } = spec));

/** The photo's species and review status as stored, read independently of the app. */
function stored(imageId: number): { classId: number | null; review: string } {
  return readStored(spec.home, (db) =>
    db
      .prepare('SELECT (SELECT class_id FROM labels WHERE image_id = i.id) AS classId, i.review_status AS review FROM images i WHERE i.id = ?')
      .get(imageId) as { classId: number | null; review: string },
  );
}

const focusedLabel = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.tagName ?? null);

describe('keyboard', () => {
  it('Enter on a species leaves the field: the next key is a shortcut, not typed text', async () => {
    const gallery = new GalleryPage(page);
    const photo = new PhotoPage(page);
    await gallery.goto(served.url);
    const im = fx.images[0];
    const other = fx.classes.find((c) => c.id !== im.classId)!;
    const otherName = other.name.replace(/^\d+\./, '').split('_')[0];
    await gallery.open(im.fileName);
    await page.keyboard.press('s');
    await poll(focusedLabel).toBe('Species');
    await page.keyboard.type(otherName);
    await page.getByRole('listbox', { name: 'Species choices' }).waitFor();
    await page.keyboard.press('Enter');
    // The field shows the picked species from the moment it is picked, never the old one.
    const shown = await photo.species.inputValue();
    expect(shown).toBe(speciesName(other.name));
    await poll(() => stored(im.id).classId).toBe(other.id);
    expect(await focusedLabel()).not.toBe('Species');
    expect(await photo.species.inputValue()).toBe(shown);
    // "a" now marks the photo accepted instead of landing in the field.
    await page.keyboard.press('a');
    await poll(() => stored(im.id).review).toBe('accepted');
    expect(await photo.species.inputValue()).toBe(shown);
    expect(shown).not.toMatch(/_|^\d/); // the display name, not the raw id
    await page.screenshot({ path: join(ARTIFACTS, 'keyboard-species.png') });
    expect(pageErrors).toEqual([]);
  });

  it('Esc closes the list, then leaves the field, and only then leaves the photo', async () => {
    const photo = new PhotoPage(page);
    await page.keyboard.press('s');
    await poll(focusedLabel).toBe('Species');
    await page.keyboard.type('a');
    const list = page.getByRole('listbox', { name: 'Species choices' });
    await list.waitFor();
    await page.keyboard.press('Escape');
    await poll(() => list.count()).toBe(0);
    expect(await focusedLabel()).toBe('Species');
    await expect(photo.caption.isVisible()).resolves.toBe(true);
    await page.keyboard.press('Escape');
    await poll(focusedLabel).not.toBe('Species');
    await expect(photo.caption.isVisible()).resolves.toBe(true);
    await page.keyboard.press('Escape');
    await page.getByRole('region', { name: 'Gallery' }).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('a shortcut pressed in the same moment a dialog closes reaches the app (Ctrl-Z undoes, i opens Import, ? opens the sheet again)', async () => {
    const im = fx.images[0];
    await poll(() => stored(im.id).review).toBe('accepted'); // the first test's last edit
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await page.keyboard.press('?');
    await help.waitFor();
    // Close and press Ctrl-Z in one task: the dialog is closed, its close event not delivered yet.
    const taken = await page.evaluate(() => {
      const dlg = document.querySelector('dialog[open]') as HTMLDialogElement;
      (dlg.querySelector('button[aria-label="Close"]') as HTMLButtonElement).click();
      const press = new KeyboardEvent('keydown', { key: 'z', ctrlKey: true, bubbles: true, cancelable: true });
      document.body.dispatchEvent(press);
      return press.defaultPrevented; // the app prevents the default of every shortcut it runs
    });
    expect(taken).toBe(true);
    await poll(() => stored(im.id).review).not.toBe('accepted');
    await poll(() => help.count()).toBe(0);

    // The same with "i": the import dialog it opens stays open when the closed sheet's close event arrives.
    await page.keyboard.press('?');
    await help.waitFor();
    await page.evaluate(() => {
      const dlg = document.querySelector('dialog[open]') as HTMLDialogElement;
      (dlg.querySelector('button[aria-label="Close"]') as HTMLButtonElement).click();
      document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'i', bubbles: true, cancelable: true }));
    });
    const importDialog = page.getByRole('dialog', { name: 'Import photos' });
    await importDialog.waitFor();
    await page.evaluate(() => new Promise((done) => setTimeout(done, 50))); // the close event has been delivered by now
    expect(await importDialog.isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await poll(() => importDialog.count()).toBe(0);

    // And "?" itself: the sheet asked for again while its closed one waits for its close event opens anew.
    await page.keyboard.press('?');
    await help.waitFor();
    await page.evaluate(() => {
      const dlg = document.querySelector('dialog[open]') as HTMLDialogElement;
      (dlg.querySelector('button[aria-label="Close"]') as HTMLButtonElement).click();
      document.body.dispatchEvent(new KeyboardEvent('keydown', { key: '?', shiftKey: true, bubbles: true, cancelable: true }));
    });
    await page.evaluate(() => new Promise((done) => setTimeout(done, 50))); // the close event has been delivered by now
    expect(await help.isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await poll(() => help.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('a species picked with Enter, then s and typing at once: the new list stays open and the field keeps the focus', async () => {
    // Leaving the field closes its list a moment later (so a click on an option can land first);
    // coming straight back must cancel that close instead of letting it shut the new list.
    const list = page.getByRole('listbox', { name: 'Species choices' });
    await new GalleryPage(page).open(fx.images[1].fileName);
    await page.keyboard.press('s');
    await poll(focusedLabel).toBe('Species');
    await page.keyboard.type('a');
    await list.waitFor();
    await page.keyboard.press('Enter');
    await page.keyboard.press('s');
    await page.keyboard.type('a');
    await page.waitForTimeout(400); // well past the close's delay
    expect(await focusedLabel()).toBe('Species');
    expect(await list.count()).toBe(1);
    await page.keyboard.press('Escape');
    await poll(() => list.count()).toBe(0);
    await page.keyboard.press('Escape');
    await poll(focusedLabel).not.toBe('Species');
    expect(pageErrors).toEqual([]);
  });

  it('Esc on the Retrain panel keeps what was typed into its settings for the next time it opens', async () => {
    await new GalleryPage(page).goto(served.url);
    const open = async () => {
      await page.getByRole('button', { name: 'Training settings' }).click();
      const form = page.getByRole('dialog', { name: 'Retrain' }).getByRole('form', { name: 'Training settings' });
      await form.waitFor();
      return form;
    };
    let form = await open();
    await form.getByRole('textbox', { name: 'Run name' }).fill('after fixing the crows');
    await form.getByRole('textbox', { name: 'Notes' }).fill('relabelled three crows as ravens');
    await page.keyboard.press('Escape');
    await poll(() => page.getByRole('dialog', { name: 'Retrain' }).count()).toBe(0);
    form = await open();
    expect(await form.getByRole('textbox', { name: 'Run name' }).inputValue()).toBe('after fixing the crows');
    expect(await form.getByRole('textbox', { name: 'Notes' }).inputValue()).toBe('relabelled three crows as ravens');
    await page.keyboard.press('Escape');
    expect(pageErrors).toEqual([]);
  });

  it('opening a photo with Enter moves the focus to its details: Tab goes on from "← Gallery", not from the top of the page', async () => {
    await page.keyboard.press('Escape');
    await page.getByRole('region', { name: 'Gallery' }).waitFor();
    await page.keyboard.press('Enter');
    await page.getByRole('textbox', { name: 'Caption' }).waitFor();
    await poll(focusedLabel).toBe('Photo details');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('← Gallery');
    // the shortcuts still work from there
    await page.keyboard.press('s');
    await poll(focusedLabel).toBe('Species');
    await page.keyboard.press('Escape');
    expect(pageErrors).toEqual([]);
  });
});
