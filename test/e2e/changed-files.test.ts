/**
 * Photos whose files changed on disk after import: the gallery shows "Changed on disk" and
 * "Missing on disk" on their tiles (the server finds it when the thumbnails are asked for and tells
 * the window), the file filter lists them, and the photo view says what happened.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { importDataset } from '../../src-main/data/importers/index.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { poll, readStored, useSession } from './session.ts';

const photo = (r: number) => sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g: 90, b: 40 } } }).jpeg().toBuffer();

const spec = useSession('changed', async (home) => {
  const root = join(home, 'photos');
  const ws = workspace(home);
  for (const [i, name] of ['kept.jpg', 'replaced.jpg', 'deleted.jpg'].entries()) {
    mkdirSync(join(root, 'Wren'), { recursive: true });
    writeFileSync(join(root, 'Wren', name), await photo(40 * i + 20));
  }
  const db = openDb(ws.dbPath);
  await importDataset(db, ws, 'folder', root);
  db.close();
  // After the import, as a person tidying their disk would.
  writeFileSync(join(root, 'Wren', 'replaced.jpg'), await photo(250));
  rmSync(join(root, 'Wren', 'deleted.jpg'));
  return { root };
});

let page: Page;
let pageErrors: string[];
beforeAll(() => void ({ page, pageErrors } = spec));

describe('photos changed on disk', () => {
  it('badges the changed and the missing photo, filters them, and explains in the photo view', async () => {
    const gallery = new GalleryPage(page);
    await gallery.goto(spec.served.url);
    await poll(() => gallery.photoCount()).toBe(3);
    await poll(() => gallery.tile('replaced.jpg').getByText('Changed on disk').count()).toBe(1);
    await poll(() => gallery.tile('deleted.jpg').getByText('Missing on disk').count()).toBe(1);
    expect(await gallery.tile('kept.jpg').getByText(/on disk/).count()).toBe(0);
    await poll(() => readStored(spec.home, (db) => db.prepare('SELECT file_name, file_status FROM images ORDER BY file_name').all())).toEqual([
      { file_name: 'deleted.jpg', file_status: 'missing' },
      { file_name: 'kept.jpg', file_status: 'ok' },
      { file_name: 'replaced.jpg', file_status: 'changed' },
    ]);

    await page.getByRole('combobox', { name: 'Filter by file on disk' }).selectOption('changed');
    await poll(() => gallery.photoCount()).toBe(1);
    await poll(() => gallery.altTexts()).toEqual(['replaced.jpg']);
    await gallery.image('replaced.jpg').dblclick();
    await page.getByText(/was replaced or damaged since it was imported/).waitFor();
    expect(pageErrors).toEqual([]);
  });
});
