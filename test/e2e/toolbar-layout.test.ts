/**
 * End-to-end: the toolbar stays readable with everything in it at once: a Resume button (a run
 * left mid-training by a closed app), a confusion-cell chip (from an evaluated run, written into
 * the database: this test is about the bar, not the model) and the collection filter (two
 * collections). At 1280×800 and 1920×1080 no two controls overlap, no
 * label is cut off, nothing is off screen, and the bar keeps its two lines.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { workspace } from '../../src-main/data/workspace.ts';
import { checkpointPaths } from '../../src-main/jobs/run-artifact.ts';
import { writeSafetensors } from '../../src-main/ml/safetensors.ts';
import { addEvaluatedRun, makePhotoFolder, makeSynthCollection, plumage } from './fixture.ts';
import { ARTIFACTS, type Served } from './serve.ts';
import { steady, useSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';
import { RunsPage } from './pages/RunsPage.ts';
import { ToolbarPage } from './pages/ToolbarPage.ts';

let runId: string;
let served: Served;
let page: Page;
let pageErrors: string[];

/** What a closed app leaves behind mid-training: a 'running' run with a resume state on disk. */
function leaveInterruptedRun(home: string, from: string): string {
  const ws = workspace(home);
  const id = `${from}-stopped`;
  const db = new Database(ws.dbPath);
  try {
    db.prepare(
      `INSERT INTO runs (id, collection_id, variant, encoder, backend, config, dataset_version, status)
       SELECT ?, collection_id, variant, encoder, backend, json_set(config, '$.epochs', 3), dataset_version, 'running' FROM runs WHERE id = ?`,
    ).run(id, from);
  } finally {
    db.close();
  }
  // The position lives in the checkpoint's weights file (only the bar is tested: one tensor will do).
  const position = JSON.stringify({ epoch: 0, globalStep: 2, finished: false });
  const paths = checkpointPaths(ws, id);
  writeSafetensors(paths.resumeWeights, { w: { shape: [1], data: [0] } }, { format: 'pt', resume_state: position });
  writeFileSync(paths.resumeState, position);
  return id;
}

const spec = useSession('bar', async (home) => {
  makeSynthCollection(home, 6, 4);
  const evaluated = addEvaluatedRun(home);
  const extra = join(home, 'garden');
  await makePhotoFolder(extra, 3);
  plumage(['--home', home, 'import', 'folder', extra, '--json']);
  leaveInterruptedRun(home, evaluated);
  return { runId: evaluated };
});
beforeAll(() => void ({ fx: { runId }, served, page, pageErrors } = spec));

describe('toolbar layout', () => {
  it('Resume, a confusion chip and the collection filter fit at 1280×800 and 1920×1080', async () => {
    const gallery = new GalleryPage(page);
    const bar = new ToolbarPage(page);
    await gallery.goto(served.url);
    await page.getByRole('button', { name: /^Resume cam/ }).waitFor();
    await page.getByRole('combobox', { name: 'Collection' }).waitFor();

    // A chip: open one cell of the evaluated run's confusion matrix.
    const runs = new RunsPage(page);
    await runs.open();
    // The evaluated run itself, not the interrupted copy whose id starts the same (the button
    // starts with the run's name, then its id).
    await runs.region.getByRole('button', { name: new RegExp(`(^| )${runId} `) }).click();
    await runs.confusion.waitFor();
    await runs.confusion.getByRole('button', { disabled: false }).first().click();
    await gallery.region.waitFor();
    const chip = page.getByRole('button', { name: 'Clear photo filter' });
    await chip.waitFor();
    // A long species in the species filter as well: the widest label a real collection shows.
    const species = page.getByRole('combobox', { name: 'Filter by species' });
    const longest = await species.evaluate((s: HTMLSelectElement) =>
      [...s.options].reduce((a, o) => (o.text.length > a.text.length ? o : a)).value,
    );
    await species.selectOption(longest);
    await chip.waitFor();

    for (const [width, height] of [
      [1280, 800],
      [1920, 1080],
    ]) {
      await page.setViewportSize({ width, height });
      // Read once the bar has stopped changing after the resize (two measurements in a row agree).
      const r = await steady(() => bar.layout(), (l) => l.controls.length >= 16, 20_000);
      await page.screenshot({ path: join(ARTIFACTS, `toolbar-${width}.png`) });
      expect(r.controls).toEqual(expect.arrayContaining(['Clear photo filter', 'Collection', 'Filter by species', 'Search captions', 'Retrain', 'Import']));
      expect(r.controls.some((c) => /^Resume cam/.test(c))).toBe(true);
      expect(r.overlaps).toEqual([]);
      expect(r.clipped).toEqual([]);
      expect(r.offscreen).toEqual([]);
      expect(r.rows.length).toBe(2); // screens + actions, then the filters: nothing wrapped onto a third line
    }
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
