/**
 * End-to-end on a run with a checkpoint but no scores (a CLI run scores the collection itself now, so
 * the fixture's scores are removed, as for a run from imported weights): the Runs screen's "Score
 * photos" button scores the collection with progress, and the photos' heat maps then show a colour legend, which
 * species the map explains and the photo's disagreement score (all checked against the database).
 * An edit while painting (a review key re-reads the photo) leaves the unsaved strokes and the chosen
 * caption word alone. A photo whose species map is empty gets a sentence instead of a blank panel.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { workspace } from '../../src-main/data/workspace.ts';
import { checkpointPaths } from '../../src-main/jobs/run-artifact.ts';
import { readSafetensors, writeSafetensors } from '../../src-main/ml/safetensors.ts';
import { speciesName } from '../../src-renderer/src/lib/names.ts';
import { makeTrainedCollection, type SynthPhoto } from './fixture.ts';
import { ARTIFACTS, type Served } from './serve.ts';
import { readStored, steady, useSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { HeatMapPage } from './pages/HeatMapPage.ts';
import { RunsPage } from './pages/RunsPage.ts';

const spec = useSession(
  'heat',
  (home) => {
    const fx = makeTrainedCollection(home);
    forgetScores(home, fx.runId);
    return fx;
  },
  { setupMs: 480_000 },
);
let images: SynthPhoto[];
let runId: string;
let served: Served;
let page: Page;
let pageErrors: string[];
beforeAll(() => void ({ fx: { images, runId }, served, page, pageErrors } = spec));
const poll = <T>(fn: () => T | Promise<T>, timeout = 20_000) => expect.poll(fn, { timeout, interval: 150 });

function predictions(): { imageId: number; className: string | null; disagreement: number | null }[] {
  return readStored(spec.home, (db) =>
    db
      .prepare(
        `SELECT p.image_id AS imageId, k.name AS className, p.disagreement FROM predictions p LEFT JOIN classes k ON k.id = p.class_id
          WHERE p.run_id = ? ORDER BY p.image_id`,
      )
      .all(runId) as { imageId: number; className: string | null; disagreement: number | null }[],
  );
}

function forgetScores(home: string, run: string): void {
  const db = new Database(workspace(home).dbPath);
  try {
    db.prepare('DELETE FROM predictions WHERE run_id = ?').run(run);
  } finally {
    db.close();
  }
}

/**
 * A copy of the trained run, newer, whose classifier weights are all zero: its species heat map is
 * empty on every photo (as on the disputed "1.00" photos of a real run). It scores one photo, so the
 * heat-map view of that photo uses it.
 */
function addEmptyClassifierRun(imageId: number): string {
  const ws = workspace(spec.home);
  const id = `${runId}-empty`;
  const [from, to] = [checkpointPaths(ws, runId), checkpointPaths(ws, id)];
  const weights = readSafetensors(from.weights);
  const tensors = Object.fromEntries(
    Object.entries(weights.tensors).map(([name, t]) => [
      name,
      { dtype: t.dtype === 'F32' ? ('F32' as const) : ('I32' as const), shape: t.shape, data: name === 'cls.weight' ? new Float32Array(t.data.length) : t.data },
    ]),
  );
  writeSafetensors(to.weights, tensors, weights.metadata);
  writeFileSync(to.sidecar, JSON.stringify({ ...JSON.parse(readFileSync(from.sidecar, 'utf8')), run: id }));
  const db = new Database(ws.dbPath);
  try {
    db.prepare(
      `INSERT INTO runs(id, created_at, collection_id, variant, encoder, backend, config, dataset_version, status, checkpoint, epochs)
       SELECT ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 minute'), collection_id, variant, encoder, backend, config, dataset_version, 'done',
              replace(checkpoint, ?, ?), epochs FROM runs WHERE id = ?`,
    ).run(id, runId, id, runId);
    db.prepare(
      `INSERT INTO predictions(run_id, image_id, class_id, confidence, top5, caption, likelihood, disagreement)
       SELECT ?, image_id, class_id, confidence, top5, caption, likelihood, 1 FROM predictions WHERE run_id = ? AND image_id = ?`,
    ).run(id, runId, imageId);
  } finally {
    db.close();
  }
  return id;
}

describe('scoring a run and reading its heat maps', () => {
  it('"Score photos" on a run that has no scores yet scores the collection, with progress', async () => {
    expect(predictions()).toEqual([]);
    const gallery = new GalleryPage(page);
    await gallery.goto(served.url);
    const runs = new RunsPage(page);
    await runs.open();
    await runs.runButton(runId).first().click();
    await runs.region.getByRole('button', { name: 'Score photos', exact: true }).click();
    await runs.region.getByRole('progressbar', { name: 'Progress' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'score-progress.png') });
    await runs.region.getByRole('button', { name: 'Score photos again' }).waitFor({ timeout: 120_000 });
    await poll(() => predictions().length).toBe(images.length);
    await runs.region.getByText(`${images.length} photos scored`).waitFor();
    await page.getByRole('status', { name: 'Notifications' }).getByText('Scoring finished').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'score-done.png') });
    expect(pageErrors).toEqual([]);
  }, 240_000);

  it('the heat map has a colour legend, names the species it explains and shows the disagreement score', async () => {
    const gallery = new GalleryPage(page);
    const heat = new HeatMapPage(page);
    const scored = predictions();
    const im = images[0];
    const p = scored.find((x) => x.imageId === im.id)!;
    expect(p.disagreement).not.toBeNull();
    await gallery.goto(served.url);
    await gallery.open(im.fileName);
    await page.keyboard.press('h');
    await heat.controls.waitFor();
    const legend = page.getByRole('img', { name: 'Colour scale' });
    await poll(() => legend.textContent()).toMatch(/least.*most/);
    await poll(() => page.getByTestId('explains').textContent()).toBe(
      `Where the model looked to decide this is a ${speciesName(p.className)}.`,
    );
    await page.getByText(`Disagreement on this photo: ${p.disagreement!.toFixed(2)}`).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'heatmap-legend.png') });
    // The captioner's map explains the model's caption.
    await heat.button('Captioner').click();
    await poll(() => page.getByTestId('explains').textContent()).toMatch(
      /^Where the model looked to write “.+”\.$/,
    );
    // Esc leaves the heat maps first, then the photo.
    await page.keyboard.press('Escape');
    await poll(() => heat.controls.count()).toBe(0);
    await page.getByRole('textbox', { name: 'Caption' }).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('an edit while painting (a review key) keeps the unsaved strokes and the chosen caption word', async () => {
    const gallery = new GalleryPage(page);
    const heat = new HeatMapPage(page);
    const im = images[3];
    const stored = () =>
      readStored(spec.home, (db) => ({
        review: (db.prepare('SELECT review_status AS r FROM images WHERE id = ?').get(im.id) as { r: string }).r,
        masks: (db.prepare('SELECT count(*) AS n FROM masks WHERE image_id = ?').get(im.id) as { n: number }).n,
      }));
    await gallery.goto(served.url);
    await gallery.open(im.fileName);
    await page.keyboard.press('h');
    const word = heat.words.getByRole('button').nth(1);
    await word.click();
    await poll(() => word.getAttribute('aria-pressed')).toBe('true');
    const explains = await steady(() => page.getByTestId('explains').textContent(), (t) => !!t?.startsWith('Where the model looked for the word'));
    await page.keyboard.press('b');
    await heat.stroke(heat.stage(/^Heat map/).first(), [0.3, 0.3], [0.7, 0.6]);
    const unsaved = heat.words.getByText(/1 unsaved stroke/);
    await unsaved.waitFor();

    // Accepting re-reads the photo: the stroke stays unsaved and the word map stays on screen.
    await page.keyboard.press('a');
    await poll(() => stored().review).toBe('accepted');
    await page.getByRole('complementary', { name: 'Photo details' }).locator('button[aria-pressed="true"]', { hasText: 'accepted' }).waitFor();
    expect(await unsaved.count()).toBe(1);
    expect(await word.getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByTestId('explains').textContent()).toBe(explains);
    // Ctrl-Z takes back the stroke first, then the review; no mask was ever saved.
    await page.keyboard.press('Control+z');
    await poll(() => unsaved.count()).toBe(0);
    expect(stored().review).toBe('accepted');
    await page.keyboard.press('Control+z');
    await poll(() => stored().review).toBe('unreviewed');
    expect(stored().masks).toBe(0);
    expect(await page.getByRole('status', { name: 'Notifications' }).getByText('Saved the painted mask').count()).toBe(0);
    await page.keyboard.press('Escape');
    await poll(() => heat.controls.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('an empty species map gets a sentence instead of a blank panel', async () => {
    const gallery = new GalleryPage(page);
    const heat = new HeatMapPage(page);
    const im = images[1];
    addEmptyClassifierRun(im.id);
    await gallery.goto(served.url);
    await gallery.open(im.fileName);
    await page.keyboard.press('h');
    await heat.controls.waitFor();
    await heat.button('Classifier').click();
    const note = page.getByRole('note').filter({ hasText: 'The model did not single out any part of this photo here' });
    await poll(() => note.textContent()).toContain('its heat map is the same everywhere, so there is nothing to colour');
    await page.screenshot({ path: join(ARTIFACTS, 'heatmap-empty.png') });
    // The same run's caption map is not empty (its weights were left alone): no sentence there.
    await heat.button('Captioner').click();
    await poll(() => note.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
