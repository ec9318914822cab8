/**
 * The CLI and the api run the same operation (api/ops/*) for each use case: each test does the
 * same thing once through `plumage <command>` (in-process `main`) on one workspace and once through
 * the api channel (or, for use cases the window does not offer, the operation itself) on a twin
 * workspace, then compares what was stored or written — not what was printed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { planRetrain } from '../../src-main/api/insights.ts';
import { exportLabels, exportRequest, makeSplits, splitRequest, workspaceSummary } from '../../src-main/api/ops/collections.ts';
import { withOpContext } from '../../src-main/api/ops/context.ts';
import { captionScoreRequest, scoreCaptionFiles } from '../../src-main/api/ops/metrics.ts';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { main } from '../../src-main/cli/main.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { invokeOk } from '../helpers/invoke.ts';
import { buildFixture, type Fixture } from './report-fixture.ts';

let dir: string;
const apis: PlumageApi[] = [];

beforeAll(() => {
  process.env.PLUMAGE_BACKEND = 'wasm';
  dir = mkdtempSync(join(tmpdir(), 'plumage-shells-'));
});
afterAll(() => {
  for (const a of apis) a.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a CLI command in this process; stdout/stderr are swallowed, the exit status returned. */
async function cli(home: string, ...args: string[]): Promise<number> {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return await main(['--home', home, '--json', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Runs a CLI command with --json in this process and returns the one JSON object it printed (exit status 0 checked). */
async function cliJson(home: string, ...args: string[]): Promise<Record<string, unknown>> {
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(['--home', home, '--json', ...args])).toBe(0);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

async function viaApi(home: string, channel: string, req: unknown): Promise<unknown> {
  const api = createApi({ home, log: () => {} });
  apis.push(api);
  const { jobId } = await invokeOk<{ jobId: string }>(api, channel, req);
  const info = await api.jobs.wait(jobId);
  expect(info.status, info.message ?? '').toBe('done');
  return info.result;
}

function withDb<T>(home: string, fn: (db: Db) => T): T {
  const db = openDb(workspace(home).dbPath);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Stored predictions of a run, keyed by photo path (ids differ between workspaces). */
function predictionsOf(home: string, run: string) {
  return withDb(home, (db) =>
    db
      .prepare(
        `SELECT i.rel_path AS path, c.name AS predicted, p.confidence AS p, p.caption FROM predictions p
           JOIN images i ON i.id = p.image_id LEFT JOIN classes c ON c.id = p.class_id
          WHERE p.run_id = ? ORDER BY i.rel_path`,
      )
      .all(run) as { path: string; predicted: string | null; p: number; caption: string | null }[],
  );
}

function twinFixtures(name: string, opts: { trainPart?: boolean } = {}): [Fixture, Fixture] {
  return [join(dir, `${name}-cli`), join(dir, `${name}-api`)].map((home) => {
    const fx = buildFixture(home);
    if (!opts.trainPart) return fx;
    // three photos of each class to train on, one to test (the fixture puts all in test)
    withDb(fx.home, (db) =>
      fx.images.forEach((im, i) =>
        db.prepare("UPDATE splits SET part = ? WHERE image_id = ? AND scheme = 'default'").run(i % 4 === 3 ? 'test' : 'train', im.id),
      ),
    );
    return fx;
  }) as [Fixture, Fixture];
}

describe('one operation behind both shells', () => {
  it('import: the same collection, labels and captions', async () => {
    const photos = join(dir, 'photos');
    for (const cls of ['cardinal', 'blue_jay']) {
      mkdirSync(join(photos, cls), { recursive: true });
      for (let i = 0; i < 3; i++)
        await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 40 * i, g: 90, b: 200 } } })
          .png()
          .toFile(join(photos, cls, `${cls}_${i}.png`));
    }
    const [a, b] = [join(dir, 'import-cli'), join(dir, 'import-api')];
    expect(await cli(a, 'import', 'folder', photos)).toBe(0);
    await viaApi(b, 'import:start', { kind: 'folder', path: photos });
    const stored = (home: string) =>
      withDb(home, (db) =>
        db
          .prepare(
            `SELECT i.rel_path, c.name AS class, i.content_hash FROM images i
               LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN classes c ON c.id = l.class_id ORDER BY i.rel_path`,
          )
          .all(),
      );
    expect(stored(a)).toHaveLength(6);
    expect(stored(a)).toEqual(stored(b));
  });

  it('eval: the same stored metrics, and the collection is scored from the CLI too', async () => {
    const [a, b] = twinFixtures('eval');
    expect(await cli(a.home, 'eval', '--run', a.runs.cam)).toBe(0);
    await viaApi(b.home, 'eval:start', { runId: b.runs.cam });
    const metrics = (fx: Fixture) =>
      withDb(fx.home, (db) => {
        const m = JSON.parse((db.prepare('SELECT metrics FROM runs WHERE id = ?').get(fx.runs.cam) as { metrics: string }).metrics);
        return { top1: m.top1, top5: m.top5, pointing: m.pointing, cam_agreement: m.cam_agreement, per_class: m.per_class };
      });
    expect(metrics(a).top1).toBeCloseTo(a.expected.top1, 10);
    expect(metrics(a)).toEqual(metrics(b));
    const pa = predictionsOf(a.home, a.runs.cam);
    expect(pa).toHaveLength(a.images.length);
    expect(pa).toEqual(predictionsOf(b.home, b.runs.cam));
  });

  it('train: the same run config, and the new run scores the collection from the CLI too', async () => {
    const [a, b] = twinFixtures('train', { trainPart: true });
    // The window's Retrain plan, spelled as CLI flags.
    const plan = withDb(a.home, (db) => planRetrain(db, { variant: 'cnn', epochs: 1 }));
    const flags = Object.entries(plan.config)
      .filter(([k]) => k !== 'variant')
      .flatMap(([k, v]) => [`--${k === 'collectionId' ? 'collection' : k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`, String(v)]);
    expect(await cli(a.home, 'train', '--variant', 'cnn', ...flags)).toBe(0);
    const fromApi = (await viaApi(b.home, 'train:start', { variant: 'cnn', epochs: 1 })) as { run: string; scored: number };
    const runOf = (fx: Fixture) =>
      withDb(fx.home, (db) => {
        const old = Object.values(fx.runs);
        const r = db
          .prepare(`SELECT id, config FROM runs WHERE status = 'done' AND id NOT IN (${old.map(() => '?').join(',')})`)
          .get(...old) as { id: string; config: string };
        // the parent run and collection ids differ between the twin workspaces
        const config = JSON.parse(r.config) as Record<string, unknown>;
        delete config.warmStart;
        delete config.collectionId;
        return { id: r.id, config };
      });
    const ra = runOf(a);
    const rb = runOf(b);
    expect(rb.id).toBe(fromApi.run);
    expect(ra.config).toEqual(rb.config);
    const pa = predictionsOf(a.home, ra.id);
    expect(pa).toHaveLength(a.images.length);
    expect(fromApi.scored).toBe(b.images.length);
    const pb = predictionsOf(b.home, rb.id);
    expect(pa.map((p) => p.predicted)).toEqual(pb.map((p) => p.predicted));
    pa.forEach((p, i) => expect(p.p).toBeCloseTo(pb[i].p, 5));
  });

  it('split: the same parts for every photo, and the same summary', async () => {
    const [a, b] = twinFixtures('split');
    const fromCli = await cliJson(a.home, 'split', '--seed', '7', '--val', '0.25', '--test', '0.25');
    const fromOp = await withOpContext(b.home, (ctx) => makeSplits(ctx, splitRequest.parse({ seed: 7, val: 0.25, test: 0.25 })));
    expect(fromCli).toEqual(JSON.parse(JSON.stringify(fromOp)));
    const parts = (fx: Fixture) =>
      withDb(fx.home, (db) =>
        db
          .prepare(`SELECT i.rel_path, s.part FROM splits s JOIN images i ON i.id = s.image_id WHERE s.scheme = 'default' ORDER BY i.rel_path`)
          .all(),
      );
    expect(parts(a)).toHaveLength(a.images.length);
    expect(parts(a)).toEqual(parts(b));
  });

  it('export and stats: the same CSV file and the same workspace summary', async () => {
    const [a, b] = twinFixtures('export');
    const [fa, fb] = [join(a.home, 'labels.csv'), join(b.home, 'labels.csv')];
    const fromCli = await cliJson(a.home, 'export', 'csv', fa);
    const fromOp = await withOpContext(b.home, (ctx) => exportLabels(ctx, exportRequest.parse({ format: 'csv', file: fb })));
    expect({ ...fromCli, file: null }).toEqual({ ...fromOp, file: null });
    // photo paths name each workspace's own folder
    const rows = (file: string, home: string) => readFileSync(file, 'utf8').split(home).join('<home>');
    expect(rows(fa, a.home).split('\n').length).toBeGreaterThan(a.images.length);
    expect(rows(fa, a.home)).toEqual(rows(fb, b.home));
    const summary = (home: string, s: unknown) => JSON.stringify(s).split(home).join('<home>');
    const statsCli = summary(a.home, await cliJson(a.home, 'stats'));
    expect(statsCli).toContain('"images":12');
    expect(statsCli).toEqual(summary(b.home, await withOpContext(b.home, (ctx) => workspaceSummary(ctx))));
  });

  it('score: the same caption metrics from the command line as from the operation', async () => {
    const refs = join(dir, 'score-refs.json');
    const cands = join(dir, 'score-cands.json');
    writeFileSync(refs, JSON.stringify({ a: ['a red bird with black wings', 'a small red bird'], b: ['a blue bird on a branch'] }));
    writeFileSync(cands, JSON.stringify({ a: 'a small red bird with wings', b: 'a blue bird' }));
    const fromCli = await cliJson(dir, 'score', '--refs', refs, '--cands', cands, '--meteor', 'stem');
    const fromOp = scoreCaptionFiles(captionScoreRequest.parse({ refs, cands, meteor: 'stem' })).scores;
    expect(fromCli.cider).toBeGreaterThan(0);
    expect(fromCli).toEqual(JSON.parse(JSON.stringify(fromOp)));
  });
});
