/**
 * `plumage report` on four runs whose classification results are known (report-fixture.ts):
 * Table 2 in the terminal and in --json with relative improvements recomputed here from the
 * stored metrics, and the HTML report rendered in headless Chromium (self-contained: no request
 * leaves the page) and screenshotted to test-artifacts/report.png.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { getRun } from '../../src-main/data/runs.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { buildFixture, type Fixture } from './report-fixture.ts';

const repo = process.cwd();
let fx: Fixture;
let html: string;
let human: string;
let json: {
  runs: { run: string; variant: string; top1: number | null; bleu1: number | null; meteor: number | null }[];
  table2: { rows: { run: string; values: (number | null)[]; relative: (number | null)[] }[]; baselines: { cnn: string; lrcn: string } };
  html: string;
};

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(repo, 'bin/plumage.js'), ...args], { encoding: 'utf8', env: { ...process.env, PLUMAGE_BACKEND: 'cpu' } });

beforeAll(() => {
  fx = buildFixture(mkdtempSync(join(tmpdir(), 'plumage-report-')));
  html = join(fx.home, 'out', 'report.html');
  const runs = [fx.runs.cnn, fx.runs.lrcn, fx.runs.medi, fx.runs.cam].join(',');
  // First call evaluates the runs (no stored metrics yet) and prints the tables.
  const r1 = cli('report', '--runs', runs, '--home', fx.home, '--out', html);
  expect(r1.status, r1.stderr).toBe(0);
  human = r1.stdout;
  const r2 = cli('report', '--runs', runs, '--home', fx.home, '--out', html, '--json');
  expect(r2.status, r2.stderr).toBe(0);
  json = JSON.parse(r2.stdout);
});

describe('plumage report', () => {
  it('prints the Table 2 layout with every run and column', () => {
    expect(human).toMatch(/Table 2/);
    for (const col of ['top-1', 'top-5', 'BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'METEOR', 'ROUGE-L', 'CIDEr']) expect(human).toContain(col);
    for (const id of Object.values(fx.runs)) expect(human).toMatch(new RegExp(`^${id}\\s`, 'm'));
    // top-1 in % for the classifier runs: the known 11/12.
    expect(human).toMatch(new RegExp(`^${fx.runs.cnn}\\s+cnn\\s+${(100 * fx.expected.top1).toFixed(1)}\\s+100\\.0`, 'm'));
    expect(human).toMatch(/Relative improvement over the baselines \(cnn r-cnn .*lrcn r-lrcn/);
    expect(human).toMatch(/Table 1/);
  });

  it('computes relative improvements over cnn (accuracy) and lrcn (caption metrics) from the stored metrics', () => {
    const db = openDb(workspace(fx.home).dbPath);
    const m = Object.fromEntries(Object.values(fx.runs).map((id) => [id, getRun(db, id)!.metrics as Record<string, number>]));
    db.close();
    expect(json.table2.baselines).toEqual({ cnn: fx.runs.cnn, lrcn: fx.runs.lrcn });
    const cam = json.table2.rows.find((r) => r.run === fx.runs.cam)!;
    expect(cam.values[0]).toBe(m[fx.runs.cam].top1);
    expect(cam.relative[0]).toBeCloseTo((m[fx.runs.cam].top1 - m[fx.runs.cnn].top1) / m[fx.runs.cnn].top1, 12);
    // BLEU-1 (column 2) and METEOR (column 6) against the lrcn run.
    expect(cam.relative[2]).toBeCloseTo((m[fx.runs.cam].bleu1 - m[fx.runs.lrcn].bleu1) / m[fx.runs.lrcn].bleu1, 12);
    expect(cam.relative[6]).toBeCloseTo((m[fx.runs.cam].meteor - m[fx.runs.lrcn].meteor) / m[fx.runs.lrcn].meteor, 12);
    // Baselines have no relative value in their own columns; lrcn has no top-1.
    const cnn = json.table2.rows.find((r) => r.run === fx.runs.cnn)!;
    expect(cnn.relative[0]).toBeNull();
    expect(json.table2.rows.find((r) => r.run === fx.runs.lrcn)!.values[0]).toBeNull();
    expect(json.html).toBe(html);
  });

  it('renders a self-contained HTML report in headless Chromium', async () => {
    expect(existsSync(html)).toBe(true);
    const source = readFileSync(html, 'utf8');
    expect(source).not.toMatch(/(src|href)="(https?:)?\/\//);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const outside: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) outside.push(r.url());
      });
      await page.goto('file://' + html);
      expect(outside).toEqual([]);
      expect(await page.locator('table[aria-label="Table 2"] tbody tr').count()).toBe(4);
      // Loss curves for the four runs and the per-class bars.
      expect(await page.locator('svg[aria-label$="training losses"]').count()).toBe(4);
      expect(await page.locator('svg[aria-label="per-class accuracy"] rect').count()).toBeGreaterThanOrEqual(9);
      // CAM examples: decoded PNG data URIs, classifier and captioner side by side for the full model.
      const cls = page.locator('img[alt^="classifier CAM"]');
      const cap = page.locator('img[alt^="captioner CAM"]');
      expect(await cls.count()).toBeGreaterThan(0);
      expect(await cap.count()).toBeGreaterThan(0);
      const widths = await page.$$eval('img', (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
      expect(widths.every((w) => w === 128)).toBe(true);
      mkdirSync(join(repo, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: join(repo, 'test-artifacts', 'report.png'), fullPage: true });
      expect(existsSync(join(repo, 'test-artifacts', 'report.png'))).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
