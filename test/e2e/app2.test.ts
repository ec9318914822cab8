/**
 * End-to-end, the curation screens: heat maps (classifier + captioner CAMs render, per-word CAM),
 * painting a mask (→ reload → persisted, in the database and on screen), one-click Retrain (live
 * progress → a new run with metrics in the Runs tab, confusion cell → gallery), batch captioning a
 * folder of 20 photos (→ 20 results → review keys → CSV export with 20 rows).
 * Fixture: 4 species × 6 synthetic photos at 96 px, a 1-epoch cam run trained by the CLI.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RETRAIN_LAMBDA, RETRAIN_ROUNDS } from '../../shared/ipc.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { speciesName } from '../../src-renderer/src/lib/names.ts';
import { makePhotoFolder, makeTrainedCollection, type SynthPhoto } from './fixture.ts';
import { ARTIFACTS, launchChromium, startServe, type Served } from './serve.ts';
import { newAppPage, reportFailure, steady } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { HeatMapPage } from './pages/HeatMapPage.ts';
import { RunsPage } from './pages/RunsPage.ts';
import { BatchPage } from './pages/BatchPage.ts';

let home: string;
let images: SynthPhoto[];
let firstRun: string;
let incoming: string;
let served: Served;
let browser: Browser;
let page: Page;
let gallery: GalleryPage;
let heat: HeatMapPage;
let pageErrors: string[];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'plumage-e2e2-'));
  const fx = makeTrainedCollection(home);
  images = fx.images;
  firstRun = fx.runId;
  incoming = join(home, 'incoming');
  await makePhotoFolder(incoming, 20);
  [served, browser] = await Promise.all([startServe(home), launchChromium()]);
  ({ page, pageErrors } = await newAppPage(browser));
  gallery = new GalleryPage(page);
  heat = new HeatMapPage(page);
  mkdirSync(ARTIFACTS, { recursive: true });
}, 480_000); // the CLI trains the fixture run first (as for heatmaps and retrain)

afterEach(async (ctx) => {
  if (page && ctx.task.result?.state === 'fail') await reportFailure({ page, served }, ctx.task.name);
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const poll = <T>(fn: () => T | Promise<T>, timeout = 20_000) => expect.poll(fn, { timeout, interval: 150 });

/** The stored mask of an image, decoded from the database independently of the app. */
async function storedMask(imageId: number): Promise<{ width: number; height: number; grey: Uint8Array } | null> {
  const db = new Database(workspace(home).dbPath, { readonly: true });
  try {
    const row = db.prepare('SELECT width, height, png FROM masks WHERE image_id = ?').get(imageId) as
      | { width: number; height: number; png: Buffer }
      | undefined;
    if (!row) return null;
    const { data, info } = await sharp(row.png).greyscale().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, grey: new Uint8Array(data.buffer, data.byteOffset, info.width * info.height * info.channels).filter((_, i) => i % info.channels === 0) };
  } finally {
    db.close();
  }
}

/** A stage's box once layout has settled (two reads in a row agree). */
const settledBox = (stage: Locator) => steady(() => stage.boundingBox(), (b) => !!b && b.width > 0 && b.height > 0);

async function openFirstPhotoHeatMap(): Promise<void> {
  await gallery.goto(served.url);
  await gallery.open(images[0].fileName);
  await page.keyboard.press('h');
  await heat.controls.waitFor();
}

describe('curation screens in browser mode', () => {
  it('heat maps: classifier and captioner CAMs render, side by side, and per word', async () => {
    await openFirstPhotoHeatMap();
    const cls = heat.stage('Heat map: classifier');
    await poll(() => heat.paintedPixels(cls, 'heat')).toBeGreaterThan(500);
    // The photo is drawn under it (its own layer, loaded apart from the map).
    await poll(() => heat.paintedPixels(cls, 'photo')).toBeGreaterThan(500);
    // `t` switches to the captioner's CAM.
    await page.keyboard.press('t');
    const cap = heat.stage('Heat map: captioner');
    await poll(() => heat.paintedPixels(cap, 'heat')).toBeGreaterThan(500);
    await page.keyboard.press('t');
    // Side by side: both stages at once.
    await heat.controls.getByRole('checkbox', { name: 'Side by side' }).check();
    await poll(() => heat.paintedPixels(heat.stage('Heat map: classifier'), 'heat')).toBeGreaterThan(500);
    await poll(() => heat.paintedPixels(heat.stage('Heat map: captioner'), 'heat')).toBeGreaterThan(500);
    await page.screenshot({ path: join(ARTIFACTS, 'heatmap-side-by-side.png') });
    await heat.controls.getByRole('checkbox', { name: 'Side by side' }).uncheck();
    // A threshold of 0.95 hides most of the map: fewer coloured pixels than at the default (read
    // once the single stage is drawn again after leaving side by side).
    const before = await steady(() => heat.paintedPixels(heat.stage('Heat map: classifier'), 'heat'), (n) => n > 500);
    await heat.controls.getByRole('slider', { name: 'Heat-map threshold' }).fill('0.95');
    await poll(() => heat.paintedPixels(heat.stage('Heat map: classifier'), 'heat')).toBeLessThan(before);
    await heat.controls.getByRole('slider', { name: 'Heat-map threshold' }).fill('0');
    // Per-word CAM: click the first word of the model caption.
    const words = heat.words.getByRole('button');
    await poll(() => words.count()).toBeGreaterThan(0);
    const w = ((await words.first().textContent()) ?? '').trim();
    await words.first().click();
    const wordStage = heat.stage(`Heat map: word “${w}”`);
    await poll(() => heat.paintedPixels(wordStage, 'heat')).toBeGreaterThan(100);
    await page.screenshot({ path: join(ARTIFACTS, 'heatmap-word.png') });
    expect(pageErrors).toEqual([]);
  });

  it('paint a mask stroke → Save → reload → the mask persisted where it was painted', async () => {
    await openFirstPhotoHeatMap();
    const stage = heat.stage('Heat map: classifier');
    await page.keyboard.press('b');
    await poll(() => heat.button('Brush').getAttribute('aria-pressed')).toBe('true');
    // A stroke through the middle of the photo (the photo is centred in the stage), plus one undone
    // with Ctrl-Z and one with the toolbar's Undo; drawn once the stage has its final size (a
    // stroke is placed by the stage's box).
    await settledBox(stage);
    await heat.stroke(stage, [0.35, 0.5], [0.65, 0.5]);
    await heat.stroke(stage, [0.47, 0.85], [0.53, 0.85]);
    await heat.stroke(stage, [0.5, 0.1], [0.5, 0.2]);
    await page.keyboard.press('Control+z');
    await page.getByRole('group', { name: 'Actions' }).getByRole('button', { name: 'Undo', exact: true }).click();
    await poll(() => heat.paintedPixels(stage, 'paint')).toBeGreaterThan(200);
    // The eraser (e) cuts the stroke in the middle (the stage's centre is the photo's centre).
    await page.keyboard.press('e');
    await poll(() => heat.button('Eraser').getAttribute('aria-pressed')).toBe('true');
    await heat.stroke(stage, [0.5, 0.4], [0.5, 0.6]);
    await page.screenshot({ path: join(ARTIFACTS, 'heatmap-brush.png') });
    await heat.button('Save mask').click();
    await page.getByRole('status', { name: 'Notifications' }).getByText('Mask saved').waitFor(); // the save is announced

    // In the database: a grey mask with the stroke across the centre row and nothing at the top.
    const m = await storedMask(images[0].id);
    expect(m).not.toBeNull();
    const at = (fx: number, fy: number) => m!.grey[Math.floor(fy * m!.height) * m!.width + Math.floor(fx * m!.width)];
    expect(at(0.4, 0.5)).toBeGreaterThan(128);
    expect(at(0.6, 0.5)).toBeGreaterThan(128);
    expect(at(0.5, 0.15)).toBe(0); // the stroke undone with Ctrl-Z
    expect(at(0.5, 0.85)).toBe(0); // the one undone with the toolbar's button
    expect(at(0.5, 0.5)).toBe(0); // erased
    expect(at(0.05, 0.05)).toBe(0);

    // Reload: the saved mask is drawn again on the paint layer.
    await page.reload();
    await gallery.images.first().waitFor();
    await gallery.open(images[0].fileName);
    await page.keyboard.press('h');
    const again = heat.stage('Heat map: classifier');
    await poll(() => heat.paintedPixels(again, 'paint')).toBeGreaterThan(200);
    // Polled: the stage may still be settling its size (a resize clears the canvas until the next frame).
    await poll(() => heat.alphaAt(again, 'paint', 0.45, 0.5)).toBeGreaterThan(0);

    // Unsaved strokes are saved when you move on to the next photo (like a pending caption edit).
    await page.keyboard.press('b');
    await poll(() => heat.button('Brush').getAttribute('aria-pressed')).toBe('true');
    await settledBox(again);
    await heat.stroke(again, [0.4, 0.15], [0.6, 0.15]);
    await page.keyboard.press('ArrowRight');
    await page.getByRole('complementary', { name: 'Photo details' }).getByRole('heading', { name: images[1].fileName }).waitFor();
    await poll(async () => {
      const m2 = await storedMask(images[0].id);
      return m2 ? m2.grey[Math.floor(0.15 * m2.height) * m2.width + Math.floor(0.5 * m2.width)] : -1;
    }).toBeGreaterThan(128);
    const m3 = (await storedMask(images[0].id))!;
    expect(m3.grey[Math.floor(0.5 * m3.height) * m3.width + Math.floor(0.4 * m3.width)]).toBeGreaterThan(128); // the first stroke stays

    // Back on the first photo, Ctrl-Z (no unsaved strokes) is the app's undo: the auto-saved
    // mask goes back to the first one, in the database and on screen.
    await page.keyboard.press('ArrowLeft');
    await page.getByRole('complementary', { name: 'Photo details' }).getByRole('heading', { name: images[0].fileName }).waitFor();
    const back = heat.stage('Heat map: classifier');
    // The mask with the top stroke, read once drawn and no longer changing (the stage may still be resizing).
    const withTop = await steady(() => heat.paintedPixels(back, 'paint'), (n) => n > 200);
    await page.keyboard.press('Control+z');
    await poll(async () => {
      const m4 = await storedMask(images[0].id);
      return m4 ? m4.grey[Math.floor(0.15 * m4.height) * m4.width + Math.floor(0.5 * m4.width)] : -1;
    }).toBe(0);
    await poll(() => heat.paintedPixels(back, 'paint')).toBeLessThan(withTop);
    expect(pageErrors).toEqual([]);
  });

  // Its longest waits (training 150 s, evaluation 120 s, progress 60 s + 60 s) fit in its own budget.
  it('Retrain: live progress, then a new run with metrics in the Runs tab; a confusion cell opens its photos', async () => {
    await gallery.goto(served.url);
    await page.getByRole('button', { name: 'Retrain', exact: true }).click();
    const panel = page.getByRole('dialog', { name: 'Retrain' });
    await panel.waitFor();
    // Progress events arrive: epoch k of N and the step-loss curve.
    await poll(() => panel.getByTestId('epoch').textContent(), 60_000).toMatch(/\d+ of \d+/);
    await poll(() => panel.getByRole('img', { name: 'Loss per step' }).count(), 60_000).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'retrain.png') });
    await poll(async () => ((await panel.locator('dd').first().textContent()) ?? '').trim()).toMatch(/^r\d/);
    const runId = ((await panel.locator('dd').first().textContent()) ?? '').trim();
    expect(runId).not.toBe(firstRun);
    await panel.getByText('Training finished').waitFor({ timeout: 150_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'retrain-done.png') });
    await panel.getByRole('button', { name: 'Open Runs' }).click();

    const runs = new RunsPage(page);
    await runs.region.waitFor();
    const btn = runs.runButton(runId);
    await btn.waitFor();
    await poll(() => btn.textContent()).toMatch(/Correct species \d/);
    await poll(() => runs.table2.getByRole('row').count()).toBeGreaterThanOrEqual(3); // header + both runs
    // Evaluate the new run → per-class bars and the confusion matrix.
    await btn.click();
    await runs.region.getByRole('button', { name: 'Evaluate' }).click();
    await runs.confusion.waitFor({ timeout: 120_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'runs.png'), fullPage: true });
    const cell = runs.confusion.getByRole('button', { disabled: false }).first();
    await poll(async () => Number(await cell.textContent())).toBeGreaterThan(0);
    const n = Number(await cell.textContent());
    await cell.click();
    await gallery.region.waitFor();
    await poll(() => gallery.photoCount()).toBe(n);
    expect(pageErrors).toEqual([]);
  }, 420_000);

  it('review queue: sort by disagreement and "next most disputed" (n) follow the scored predictions', async () => {
    // Expected order, read from the database: the latest done run's predictions, most disputed first.
    const db = new Database(workspace(home).dbPath, { readonly: true });
    let order: { id: number; file: string }[];
    try {
      order = db
        .prepare(
          `SELECT p.image_id AS id, i.file_name AS file FROM predictions p JOIN images i ON i.id = p.image_id
            WHERE p.run_id = (SELECT r.id FROM runs r WHERE r.status = 'done' AND EXISTS (SELECT 1 FROM predictions q WHERE q.run_id = r.id)
                              ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
              AND p.disagreement IS NOT NULL
            ORDER BY p.disagreement DESC, p.image_id`,
        )
        .all() as { id: number; file: string }[];
    } finally {
      db.close();
    }
    expect(order.length).toBe(images.length);
    await gallery.goto(served.url);
    await page.getByRole('combobox', { name: 'Sort' }).selectOption('disagreement');
    await poll(async () => (await gallery.altTexts()).slice(0, 5)).toEqual(order.slice(0, 5).map((o) => o.file));
    await page.screenshot({ path: join(ARTIFACTS, 'review-queue.png') });
    await page.getByRole('combobox', { name: 'Sort' }).selectOption('path');
    await poll(async () => (await gallery.altTexts())[0]).toBe(images[0].fileName);
    // n from the gallery opens the most disputed photo; n again goes to the next one.
    const title = page.getByRole('complementary', { name: 'Photo details' }).getByRole('heading', { level: 2 });
    await page.keyboard.press('n');
    await poll(() => title.textContent()).toBe(order[0].file);
    await page.keyboard.press('n');
    await poll(() => title.textContent()).toBe(order[1].file);
    await page.getByRole('button', { name: 'Next disputed' }).click();
    await poll(() => title.textContent()).toBe(order[2].file);
    expect(pageErrors).toEqual([]);
  });

  // Captioning the folder may take up to 120 s on a busy machine; the review and exports come after it.
  it('Caption folder: 20 photos → 20 reviewable results → export CSV with 20 rows', async () => {
    await gallery.goto(served.url);
    await page.getByRole('button', { name: 'Caption folder' }).click();
    const batch = new BatchPage(page);
    await batch.region.waitFor();
    await batch.start(incoming);
    await batch.region.getByRole('progressbar').waitFor();
    await poll(() => batch.count(), 120_000).toBe(20);
    await poll(() => batch.results.count()).toBe(20);
    // A thumbnail per result (alt = the file name), loaded through the batch route by ids.
    const names = Array.from({ length: 20 }, (_, i) => `field_${String(i).padStart(2, '0')}.jpg`);
    await poll(() => batch.region.getByRole('list', { name: 'Batch results' }).getByRole('img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('alt')))).toEqual(names);
    // Each result's top-5 names its species as everywhere else in the app ("Green-crowned Shrike").
    const displayNames = new Set(images.map((im) => speciesName(im.className)));
    const top5 = await batch.results.nth(0).locator('.top5 span').evaluateAll((spans) => spans.map((s) => (s.firstChild?.textContent ?? '').trim()));
    expect(top5.length).toBeGreaterThan(0);
    for (const name of top5) expect(displayNames).toContain(name);
    await poll(() => batch.thumbnailWidth(names[0])).toBeGreaterThan(0);
    await batch.thumbnail(names[19]).scrollIntoViewIfNeeded(); // lazy: loads when scrolled to
    await poll(() => batch.thumbnailWidth(names[19])).toBeGreaterThan(0);
    await batch.thumbnail(names[0]).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'batch-thumbnails.png') });
    const csv = join(home, 'exports', 'captions.csv'); // the page may write into exports/ only
    // The note of an earlier export stays on screen: wait for this export's own row count.
    const exportCsv = async (rows: number) => {
      await batch.region.getByRole('textbox', { name: 'Export path' }).fill(csv);
      await batch.region.getByRole('button', { name: 'Export CSV' }).click();
      await batch.region.getByRole('status').filter({ hasText: `Exported ${rows} rows to` }).waitFor();
      expect(existsSync(csv)).toBe(true);
      return readFileSync(csv, 'utf8').trim().split(/\r?\n/);
    };
    // Nothing reviewed yet: ask for every result.
    await batch.region.getByRole('checkbox', { name: 'Include unreviewed and rejected' }).check();
    const lines = await exportCsv(20);
    // One header line, then one row per photo.
    expect(lines[0]).toMatch(/^path,caption,/);
    expect(lines.length).toBe(21);
    expect(lines.slice(1).filter((l) => /^field_\d\d\.jpg,/.test(l)).length).toBe(20);
    rmSync(csv);
    // Review keys: a accepts the current result and moves on, r rejects, j / k move.
    await page.keyboard.press('a');
    await poll(() => batch.results.nth(0).getAttribute('class')).toMatch(/accepted/);
    await page.keyboard.press('r');
    await poll(() => batch.results.nth(1).getAttribute('class')).toMatch(/rejected/);
    await page.keyboard.press('k');
    await poll(() => batch.results.nth(1).getAttribute('aria-current')).toBe('true');
    // e edits the current caption: Enter saves it as the curator's text.
    await page.keyboard.press('j');
    await page.keyboard.press('e');
    const box = batch.region.getByRole('textbox', { name: 'Edit caption' });
    await box.fill('a small test bird on a branch');
    await box.press('Enter');
    await poll(() => batch.results.nth(2).getAttribute('class')).toMatch(/edited/);
    await page.screenshot({ path: join(ARTIFACTS, 'batch.png') });
    // By default only the accepted and the edited result are exported; the edited text replaces the model's.
    await batch.region.getByRole('checkbox', { name: 'Include unreviewed and rejected' }).uncheck();
    const after = await exportCsv(2);
    await page.screenshot({ path: join(ARTIFACTS, 'batch-export.png') });
    expect(after.length).toBe(3);
    expect(after[0]).toMatch(/,review$/);
    expect(after.filter((l) => l.startsWith('field_02.jpg,a small test bird on a branch,') && l.endsWith(',edited'))).toHaveLength(1);
    expect(after.filter((l) => l.startsWith('field_00.jpg,') && l.endsWith(',accepted'))).toHaveLength(1);
    // Import accepted: the accepted and the edited photo join a collection.
    await batch.region.getByRole('button', { name: 'Import accepted' }).click();
    await batch.region.getByRole('status').filter({ hasText: /Imported 2 photos \(2 captions/ }).waitFor();
    // Clicking Accept while editing accepts the typed text, not the model's caption under it.
    await poll(() => batch.results.nth(3).getAttribute('aria-current')).toBe('true');
    await page.keyboard.press('e');
    await box.fill('a second test bird in the grass');
    await batch.results.nth(3).getByRole('button', { name: 'Accept' }).click();
    await poll(() => batch.results.nth(3).getAttribute('class')).toMatch(/edited/);
    expect(await batch.results.nth(3).locator('.cap').textContent()).toMatch(/^a second test bird in the grass\(model: /);
    expect(pageErrors).toEqual([]);
  }, 240_000);
  // Training to round 3 (60 s), stopping (30 s) and the resumed run (150 s) fit in its own budget.
  it('Retrain → Cancel → reload: the stopped run is offered for Resume, which continues the same run', async () => {
    await gallery.goto(served.url);
    // A from-scratch Retrain's rounds, so Cancel lands mid-training (a fine-tune's few rounds can end between two polls).
    await page.getByRole('button', { name: 'Training settings' }).click();
    const panel = page.getByRole('dialog', { name: 'Retrain' });
    const form = panel.getByRole('form', { name: 'Training settings' });
    await form.getByText('Advanced settings').click();
    // the empty λ field shows the weight a Retrain trains with
    expect(await form.getByRole('spinbutton', { name: 'Heat-map weight (λ)' }).getAttribute('placeholder')).toBe(String(RETRAIN_LAMBDA));
    await form.getByRole('spinbutton', { name: 'Rounds' }).fill(String(RETRAIN_ROUNDS.fromScratch));
    await form.getByRole('button', { name: 'Start training' }).click();
    // Round 3 or later but not the last, so Cancel lands mid-training (a pattern such as 3–9 could be
    // skipped over by a poll on a busy machine).
    const round = async () => /^(\d+) of (\d+)$/.exec((await panel.getByTestId('epoch').textContent()) ?? '')?.slice(1).map(Number) ?? null;
    await poll(async () => {
      const r = await round();
      return r !== null && r[0] >= 3 && r[0] < r[1] ? 'mid-training' : r;
    }, 60_000).toBe('mid-training');
    await poll(async () => ((await panel.locator('dd').first().textContent()) ?? '').trim()).toMatch(/^r\d/);
    const runId = ((await panel.locator('dd').first().textContent()) ?? '').trim();
    await panel.getByRole('button', { name: 'Cancel' }).click();
    await poll(() => panel.textContent(), 30_000).toMatch(/stopped/i);
    await page.reload();
    await gallery.images.first().waitFor();
    const resume = page.getByRole('button', { name: /^Resume cam/ });
    await poll(() => resume.getAttribute('title')).toContain(runId);
    await page.screenshot({ path: join(ARTIFACTS, 'resume.png') });
    await resume.click();
    await panel.waitFor();
    await poll(() => panel.locator('dd').first().textContent(), 30_000).toBe(runId);
    await panel.getByText('Training finished').waitFor({ timeout: 150_000 });
    expect(pageErrors).toEqual([]);
  }, 330_000);
});
