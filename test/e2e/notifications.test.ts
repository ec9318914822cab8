/**
 * End-to-end: feedback the curator can see and hear. Saves and errors arrive as toasts in one
 * role="status" live region (no error codes on screen); Undo / Redo are buttons whose tooltip says
 * what they will undo, and they change the database like Ctrl-Z / Ctrl-Shift-Z.
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

let home: string;
let fx: SynthCollection;
let session: AppSession | undefined;
let served: Served;
let page: Page;
let pageErrors: string[];
const poll = <T>(fn: () => T | Promise<T>, timeout = 15_000) => expect.poll(fn, { timeout, interval: 100 });

function storedClass(imageId: number): number | null {
  const db = new Database(workspace(home).dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT class_id AS c FROM labels WHERE image_id = ?').get(imageId) as { c: number | null } | undefined)?.c ?? null;
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'plumage-e2e-toast-'));
  fx = makeSynthCollection(home, 4, 6);
  session = await openSession(home);
  ({ served, page, pageErrors } = session);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

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
    const other = fx.classes.find((c) => c.id !== im.classId)!;
    await gallery.open(im.fileName);
    await photo.pickSpecies(speciesName(other.name), speciesName(other.name));
    await poll(() => storedClass(im.id)).toBe(other.id);
    const undo = page.getByRole('button', { name: 'Undo', exact: true });
    const redo = page.getByRole('button', { name: 'Redo', exact: true });
    await poll(() => undo.getAttribute('title')).toBe(`Undo: Set ${speciesName(other.name)} on 1 photo (Ctrl+Z)`);
    await page.screenshot({ path: join(ARTIFACTS, 'undo-button.png') });
    await undo.click();
    await poll(() => storedClass(im.id)).toBe(im.classId);
    await poll(() => redo.getAttribute('title')).toBe(`Redo: Set ${speciesName(other.name)} on 1 photo (Ctrl+Shift+Z)`);
    await redo.click();
    await poll(() => storedClass(im.id)).toBe(other.id);
    await poll(() => photo.species.inputValue()).toBe(speciesName(other.name));
    expect(pageErrors).toEqual([]);
  });
});
