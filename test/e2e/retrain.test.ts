/**
 * End-to-end Retrain lifecycle on a run trained by the CLI: buttons follow the job ("Training…"
 * while it runs, "Retrain" again when it ends), the finished panel compares before and after
 * (top-1, CIDEr, heat-map agreement, as stored), a second run with a name, notes and Advanced
 * settings stores them in its configuration and can be stopped.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace } from '../../src-main/data/workspace.ts';
import { makeTrainedCollection } from './fixture.ts';
import { ARTIFACTS, type Served } from './serve.ts';
import { openSession, type AppSession } from './session.ts';
import { GalleryPage } from './pages/GalleryPage.ts';

let home: string;
let firstRun: string;
let session: AppSession | undefined;
let served: Served;
let page: Page;
let pageErrors: string[];
const poll = <T>(fn: () => T | Promise<T>, timeout = 30_000) => expect.poll(fn, { timeout, interval: 200 });

function storedRun(id: string): { config: Record<string, unknown>; metrics: Record<string, number> | null; parent: string | null } {
  const db = new Database(workspace(home).dbPath, { readonly: true });
  try {
    const r = db.prepare('SELECT config, metrics, parent_run AS parent FROM runs WHERE id = ?').get(id) as { config: string; metrics: string | null; parent: string | null };
    return { config: JSON.parse(r.config), metrics: r.metrics ? JSON.parse(r.metrics) : null, parent: r.parent };
  } finally {
    db.close();
  }
}

const shown = (m: Record<string, number> | null, k: string) =>
  typeof m?.[k] === 'number' ? (k === 'top1' ? `${(100 * m[k]).toFixed(1)} %` : m[k].toFixed(3)) : '—';

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'plumage-e2e-retrain-'));
  firstRun = makeTrainedCollection(home).runId;
  session = await openSession(home, { width: 1280, height: 900 });
  ({ served, page, pageErrors } = session);
}, 480_000);

afterAll(async () => {
  await session?.close();
});

describe('Retrain lifecycle', () => {
  it('buttons follow the job and the finished panel compares before and after', async () => {
    await new GalleryPage(page).goto(served.url);
    const retrain = page.getByRole('button', { name: 'Retrain', exact: true });
    await retrain.click();
    const panel = page.getByRole('dialog', { name: 'Retrain' });
    await panel.waitFor();
    await poll(() => panel.getByTestId('epoch').textContent(), 90_000).toMatch(/\d+ of \d+/);
    const runId = ((await panel.locator('dd').first().textContent()) ?? '').trim();
    // Closed while training: the toolbar offers the running job, not a second Retrain.
    await page.keyboard.press('Escape');
    const showTraining = page.getByRole('button', { name: 'Show training' });
    await showTraining.waitFor();
    expect(await retrain.count()).toBe(0);
    await showTraining.click();
    await panel.getByText('Training finished').waitFor({ timeout: 200_000 });
    const table = panel.getByRole('table', { name: 'Before and after' });
    await table.waitFor();
    const stored = storedRun(runId);
    expect(stored.parent).toBe(firstRun);
    const before = storedRun(firstRun).metrics;
    const rows = await table.getByRole('row').evaluateAll((trs) => trs.slice(1).map((tr) => [...tr.children].map((c) => (c.textContent ?? '').trim())));
    expect(rows.map((r) => r[0])).toEqual(['Correct species', 'Caption quality', 'Heat-map agreement']);
    expect(rows.map((r) => r[1])).toEqual(['top1', 'cider', 'cam_agreement'].map((k) => shown(before, k)));
    expect(rows.map((r) => r[2])).toEqual(['top1', 'cider', 'cam_agreement'].map((k) => shown(stored.metrics, k)));
    expect(rows[0][2]).not.toBe('—'); // a finished retrain measures top-1
    await page.screenshot({ path: join(ARTIFACTS, 'retrain-before-after.png') });
    await page.keyboard.press('Escape');
    await retrain.waitFor();
    expect(await showTraining.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 320_000);

  it('a named run with Advanced settings stores them and can be stopped', async () => {
    await page.getByRole('button', { name: 'Training settings' }).click();
    const panel = page.getByRole('dialog', { name: 'Retrain' });
    const form = panel.getByRole('form', { name: 'Training settings' });
    await form.getByRole('textbox', { name: 'Run name' }).fill('after fixing the crows');
    await form.getByRole('textbox', { name: 'Notes' }).fill('relabelled 3 crows');
    await form.getByText('Advanced settings').click();
    await form.getByRole('spinbutton', { name: 'Rounds' }).fill('3');
    await form.getByRole('spinbutton', { name: 'Learning rate' }).fill('0.001');
    await form.getByRole('spinbutton', { name: 'Photos per step' }).fill('16');
    await form.getByRole('spinbutton', { name: 'Heat-map weight (λ)' }).fill('0.5');
    await form.getByRole('combobox', { name: 'Recipe' }).selectOption('practical');
    await page.screenshot({ path: join(ARTIFACTS, 'retrain-settings.png') });
    await form.getByRole('button', { name: 'Start training' }).click();
    await poll(() => panel.getByTestId('epoch').textContent(), 120_000).toMatch(/^[23] of 3/);
    const runId = ((await panel.locator('dd').first().textContent()) ?? '').trim();
    expect(storedRun(runId).config).toMatchObject({ name: 'after fixing the crows', notes: 'relabelled 3 crows', epochs: 3, lr: 0.001, batch: 16, lambda: 0.5, optimizer: 'adam' });
    await panel.getByRole('button', { name: 'Cancel' }).click();
    await poll(() => panel.textContent()).toMatch(/Stopped/);
    await page.keyboard.press('Escape');
    // After the stop the toolbar offers Retrain again.
    await page.getByRole('button', { name: 'Retrain', exact: true }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'retrain-stopped.png') });
    expect(pageErrors).toEqual([]);
  }, 320_000);
});
