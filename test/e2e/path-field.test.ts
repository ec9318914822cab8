/**
 * End-to-end (browser mode): the folder fields of Import and Caption folder say, while the
 * curator types, what the path would give — not a full path, a refused system folder, nothing
 * there, a file instead of a folder, a folder with N photos (counted on disk by the test) — and a folder dropped onto the
 * field or anywhere on the window gets a sentence explaining that a browser does not reveal where it is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePhotoFolder } from './fixture.ts';
import { ARTIFACTS, type Served } from './serve.ts';
import { poll, useSession } from './session.ts';
import { ImportDialogPage } from './pages/ImportDialogPage.ts';
import { BatchPage } from './pages/BatchPage.ts';

interface Folders {
  /** 7 photos: 5 at the top, 2 in a sub-folder, plus a text file that is not counted. */
  photos: string;
  notes: string;
}

const spec = useSession<Folders>('paths', async (home) => {
  const photos = join(home, 'field-trip');
  await makePhotoFolder(photos, 5);
  await makePhotoFolder(join(photos, 'Cardinal'), 2);
  const notes = join(photos, 'notes.txt');
  writeFileSync(notes, 'seen at dawn\n');
  mkdirSync(join(home, 'empty'));
  return { photos, notes };
});
let served: Served;
let page: Page;
let pageErrors: string[];
let fx: Folders;
beforeAll(() => void ({ served, page, pageErrors, fx } = spec));

/** The sentence under a path field. */
const feedback = (field: Locator) => field.getByTestId('path-feedback').textContent();

/** Drops a folder the way a browser hands it to a page: a File with a name and no place on disk. */
async function dropFolder(target: Locator, name: string): Promise<void> {
  const dataTransfer = await page.evaluateHandle((n) => {
    const dt = new DataTransfer();
    dt.items.add(new File([], n));
    return dt;
  }, name);
  await target.dispatchEvent('dragover', { dataTransfer });
  await target.dispatchEvent('drop', { dataTransfer });
}

describe('path fields', () => {
  it('Import: the Path field says what the typed path would give, while typing', async () => {
    await page.goto(served.url); // an empty workspace: the welcome screen, with Import in the toolbar
    const dialog = new ImportDialogPage(page);
    await dialog.open();
    await dialog.dialog.getByRole('radio', { name: /Plain folder/ }).check();
    const field = dialog.dialog.getByRole('group', { name: 'Path' });
    const input = field.getByRole('textbox', { name: 'Path' });
    await input.fill('field-trip');
    await poll(() => feedback(field)).toMatch(/^Give the full path of the folder/);
    await input.fill('/etc');
    await poll(() => feedback(field)).toMatch(/^Plumage will not read this folder: '\/etc' .*system folder/);
    await input.fill(join(spec.home, 'nowhere'));
    await poll(() => feedback(field)).toBe('There is no folder at this path.');
    await input.fill(fx.notes);
    await poll(() => feedback(field)).toBe('This is a file, not a folder: give the folder that holds the photos.');
    await input.fill(join(spec.home, 'empty'));
    await poll(() => feedback(field)).toMatch(/^Folder found, but there are no photos in it/);
    await input.fill(fx.photos);
    await poll(() => feedback(field)).toBe('Folder found: 7 photos.');
    await page.screenshot({ path: join(ARTIFACTS, 'import-path-check.png') });
    // COCO takes a file: the same field now asks for one.
    await dialog.dialog.getByRole('radio', { name: /COCO captions JSON/ }).check();
    await poll(() => feedback(field)).toBe('This is a folder: give the file itself.');
    expect(pageErrors).toEqual([]);
  });

  it('Import keeps what was typed (kind, path, captions folder) when closed with Esc and opened again', async () => {
    const dialog = new ImportDialogPage(page);
    const captions = dialog.dialog.getByRole('textbox', { name: 'Captions folder (optional)' });
    await captions.fill(join(spec.home, 'empty'));
    await dialog.close();
    await dialog.open();
    expect(await dialog.dialog.getByRole('radio', { name: /COCO captions JSON/ }).isChecked()).toBe(true);
    expect(await dialog.dialog.getByRole('textbox', { name: 'Path' }).inputValue()).toBe(fx.photos);
    expect(await captions.inputValue()).toBe(join(spec.home, 'empty'));
    await poll(() => feedback(dialog.dialog.getByRole('group', { name: 'Path' }))).toBe('This is a folder: give the file itself.');
    expect(pageErrors).toEqual([]);
  });

  it('a folder dropped onto the field in a browser: a plain explanation, the field unchanged', async () => {
    const dialog = new ImportDialogPage(page);
    const field = dialog.dialog.getByRole('group', { name: 'Path' });
    await dropFolder(field, 'field-trip');
    await poll(() => feedback(field)).toBe(
      'Your browser does not tell Plumage where “field-trip” is on disk, so it cannot be dropped here: type or paste its full path instead.',
    );
    expect(await field.getByRole('textbox', { name: 'Path' }).inputValue()).toBe(fx.photos);
    await page.screenshot({ path: join(ARTIFACTS, 'import-drop-browser.png') });
    await dialog.close();
    expect(pageErrors).toEqual([]);
  });

  it('a folder dropped anywhere on the window opens Import, saying to type its path in a browser', async () => {
    const dialog = new ImportDialogPage(page);
    await dropFolder(page.locator('main'), 'field-trip');
    await dialog.dialog.waitFor();
    await poll(() => dialog.dialog.getByTestId('drop-note').textContent()).toBe(
      'Your browser does not tell Plumage where “field-trip” is on disk, so it cannot be dropped here: type or paste its full path instead.',
    );
    // A browser drop brings no path: the field keeps the one typed earlier in this session.
    await expect(dialog.dialog.getByRole('textbox', { name: 'Path' }).inputValue()).resolves.toBe(fx.photos);
    await page.screenshot({ path: join(ARTIFACTS, 'window-drop-browser.png') });
    // A drop that opened the dialog is used once: opened again, the dialog starts plain.
    await dialog.close();
    await dialog.open();
    await expect(dialog.dialog.getByTestId('drop-note').count()).resolves.toBe(0);
    await dialog.close();
    expect(pageErrors).toEqual([]);
  });

  it('Caption folder: the Folder field checks the typed folder too', async () => {
    await page.getByRole('button', { name: 'Caption folder' }).click();
    const batch = new BatchPage(page);
    const field = batch.form.getByRole('group', { name: 'Folder' });
    await field.getByRole('textbox', { name: 'Folder' }).fill(fx.photos);
    await poll(() => feedback(field)).toBe('Folder found: 7 photos.');
    expect(pageErrors).toEqual([]);
  });
});
