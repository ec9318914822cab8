/**
 * End-to-end: the Species manager. A curator renames a species with the keyboard only, merges one
 * species into another after a confirmation, and undoes both (the dialog's Undo, then Ctrl-Z);
 * every step is read back from the database and from the screen.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace } from '../../src-main/data/workspace.ts';
import { speciesName } from '../../src-renderer/src/lib/names.ts';
import { makeSynthCollection, type SynthCollection } from './fixture.ts';
import { ARTIFACTS, type Served } from './serve.ts';
import { openSession, type AppSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { PhotoPage } from './pages/PhotoPage.ts';
import { SpeciesPage } from './pages/SpeciesPage.ts';

let home: string;
let fx: SynthCollection;
let session: AppSession | undefined;
let served: Served;
let page: Page;
let pageErrors: string[];
const poll = <T>(fn: () => T | Promise<T>, timeout = 15_000) => expect.poll(fn, { timeout, interval: 100 });

function labelOf(imageId: number): string | null {
  const db = new Database(workspace(home).dbPath, { readonly: true });
  try {
    const row = db
      .prepare('SELECT k.name FROM labels l JOIN classes k ON k.id = l.class_id WHERE l.image_id = ?')
      .get(imageId) as { name: string } | undefined;
    return row?.name ?? null;
  } finally {
    db.close();
  }
}

/** Species as stored: raw id → [display name, live?, photo count]. */
function stored(): Record<string, [string | null, boolean, number]> {
  const db = new Database(workspace(home).dbPath, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT k.name, k.display_name, k.merged_into IS NULL AND k.removed = 0 AS live,
           (SELECT count(*) FROM labels l WHERE l.class_id = k.id) AS n FROM classes k`,
      )
      .all() as { name: string; display_name: string | null; live: number; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.name, [r.display_name, r.live === 1, r.n]]));
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'plumage-e2e-species-'));
  fx = makeSynthCollection(home, 3, 4);
  session = await openSession(home);
  ({ served, page, pageErrors } = session);
}, 180_000); // the fixture, then up to 90 s for the server to start

afterAll(async () => {
  await session?.close();
});

describe('Species manager', () => {
  it('renames (keyboard only), merges after a confirmation, and undoes both', async () => {
    const gallery = new GalleryPage(page);
    const manager = new SpeciesPage(page);
    const [a, b, c] = fx.classes.map((k) => k.name);
    const [nameA, nameB, nameC] = [a, b, c].map(speciesName);
    const photoOfC = fx.images.find((im) => im.className === c)!.fileName;
    await gallery.goto(served.url);
    await manager.open();
    await poll(() => manager.rows()).toEqual(
      expect.arrayContaining([
        [nameA, 4],
        [nameB, 4],
        [nameC, 4],
      ]),
    );
    await manager.dialog.getByText(/Trained runs keep the species list they were trained with/).waitFor();

    // Rename C with the keyboard: Enter on Rename, type, Esc cancels without closing the dialog, Enter saves.
    await manager.renameButton(nameC).focus();
    await page.keyboard.press('Enter');
    await poll(() => manager.nameField(nameC).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Escape');
    await poll(() => manager.renameButton(nameC).evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await manager.dialog.isVisible()).toBe(true);
    await page.keyboard.press('Enter');
    await manager.nameField(nameC).fill('');
    await page.keyboard.type('Scarlet Wanderer');
    await page.keyboard.press('Enter');
    await poll(() => stored()[c]).toEqual(['Scarlet Wanderer', true, 4]);
    await poll(() => manager.rows()).toContainEqual(['Scarlet Wanderer', 4]);
    // The new name shows everywhere: the species filter and the gallery tiles.
    await poll(() =>
      page
        .getByRole('combobox', { name: 'Filter by species' })
        .getByRole('option', { name: 'Scarlet Wanderer (4)' })
        .count(),
    ).toBe(1);
    await poll(() => gallery.tileSpecies(photoOfC)).toBe('Scarlet Wanderer');

    // Merge A into B: the dialog says what will happen before anything moves.
    await manager.mergeButton(nameA).click();
    await manager.mergeTarget(nameA).selectOption({ label: `${nameB} (4)` });
    await manager.dialog.getByText(`All 4 photos of ${nameA} will become ${nameB}`).waitFor();
    expect(stored()[a]).toEqual([null, true, 4]);
    await page.screenshot({ path: join(ARTIFACTS, 'species-merge-confirm.png') });
    await manager.dialog.getByRole('button', { name: `Merge into ${nameB}` }).click();
    await poll(() => [stored()[a], stored()[b]]).toEqual([
      [null, false, 0],
      [null, true, 8],
    ]);
    await poll(() => manager.rows()).toEqual(expect.arrayContaining([[nameB, 8]]));
    await poll(async () => (await manager.rows()).map((r) => r[0])).not.toContain(nameA);
    await page.screenshot({ path: join(ARTIFACTS, 'species-manager.png') });

    // The dialog's Undo takes back the merge (one step), Ctrl-Z after closing it the rename.
    await manager.undo.click();
    await poll(() => [stored()[a], stored()[b]]).toEqual([
      [null, true, 4],
      [null, true, 4],
    ]);
    await poll(() => manager.rows()).toEqual(
      expect.arrayContaining([
        [nameA, 4],
        [nameB, 4],
      ]),
    );
    await manager.close();
    await page.keyboard.press('Control+z');
    await poll(() => stored()[c]).toEqual([null, true, 4]);
    await poll(() => gallery.tileSpecies(photoOfC)).toBe(nameC);
    expect(pageErrors).toEqual([]);
  });

  it('refuses a name another species already has, in words', async () => {
    const manager = new SpeciesPage(page);
    const [a, b] = fx.classes.map((k) => speciesName(k.name));
    await manager.open();
    await manager.dialog.getByRole('textbox', { name: 'New species' }).fill(a.toUpperCase());
    await manager.dialog.getByRole('button', { name: 'Add species' }).click();
    const alert = manager.dialog.getByRole('alert');
    await alert.getByText(`there is already a species called '${a}'`, { exact: false }).waitFor();
    expect(await alert.textContent()).not.toMatch(/\(conflict\)|species:create/);
    await manager.dialog.getByRole('textbox', { name: 'New species' }).fill('Pale Finch');
    await manager.dialog.getByRole('button', { name: 'Add species' }).click();
    await poll(() => manager.rows()).toContainEqual(['Pale Finch', 0]);
    await poll(() => stored()['Pale Finch']).toEqual([null, true, 0]);
    expect(b).not.toBe('Pale Finch');
    await manager.close();
    expect(pageErrors).toEqual([]);
  });

  it('a gallery filtered on the merged species follows its photos to the species they joined', async () => {
    const gallery = new GalleryPage(page);
    const manager = new SpeciesPage(page);
    const [a, b] = fx.classes.map((k) => k.name);
    const [nameA, nameB] = [a, b].map(speciesName);
    const photoOfA = fx.images.find((im) => im.className === a)!.fileName;
    const filter = page.getByRole('combobox', { name: 'Filter by species' });
    await filter.selectOption({ label: `${nameA} (4)` });
    await poll(() => gallery.photoCount()).toBe(4);
    await manager.open();
    await manager.mergeButton(nameA).click();
    await manager.mergeTarget(nameA).selectOption({ label: `${nameB} (4)` });
    await manager.dialog.getByRole('button', { name: `Merge into ${nameB}` }).click();
    await poll(() => stored()[b]).toEqual([null, true, 8]);
    await manager.close();
    await poll(() => gallery.photoCount()).toBe(8);
    await poll(() => filter.evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.text)).toBe(
      `${nameB} (8)`,
    );
    await poll(() => gallery.tileSpecies(photoOfA)).toBe(nameB);
    await page.keyboard.press('Control+z');
    await poll(() => [stored()[a], stored()[b]]).toEqual([
      [null, true, 4],
      [null, true, 4],
    ]);
    expect(pageErrors).toEqual([]);
  });

  it("a name typed in a photo's Species field that no species has is offered as a new species; one undo takes both away", async () => {
    const gallery = new GalleryPage(page);
    const photo = new PhotoPage(page);
    const im = fx.images[0];
    const labelBefore = labelOf(im.id);
    await gallery.goto(served.url);
    await gallery.open(im.fileName);
    await photo.species.click();
    await photo.species.fill('Dusky Warbler');
    await page
      .getByRole('listbox', { name: 'Species choices' })
      .getByRole('option', { name: 'Add “Dusky Warbler” as a new species' })
      .waitFor();
    await photo.species.press('Enter');
    await poll(() => stored()['Dusky Warbler']).toEqual([null, true, 1]);
    await poll(() => labelOf(im.id)).toBe('Dusky Warbler');
    // Enter leaves the field: the next keys are shortcuts again, not typed into it.
    await poll(() => photo.species.evaluate((el) => el === document.activeElement)).toBe(false);
    await poll(() => photo.species.inputValue()).toBe('Dusky Warbler');
    const undoButton = page.getByRole('button', { name: 'Undo', exact: true });
    await poll(() => undoButton.getAttribute('title')).toBe(
      'Undo: Added the species Dusky Warbler and set it on 1 photo (Ctrl+Z)',
    );
    // Adding the species and labelling the photo were one edit: one Ctrl-Z undoes both, one redo redoes both.
    await page.keyboard.press('Control+z');
    await poll(() => labelOf(im.id)).toBe(labelBefore);
    await poll(() => stored()['Dusky Warbler']).toEqual([null, false, 0]);
    await page.keyboard.press('Control+Shift+z');
    await poll(() => stored()['Dusky Warbler']).toEqual([null, true, 1]);
    await poll(() => labelOf(im.id)).toBe('Dusky Warbler');
    expect(pageErrors).toEqual([]);
  });
});
