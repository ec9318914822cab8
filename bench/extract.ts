/**
 * Feature-extraction speed: synthetic photos → decode (sharp) → encoder → float16 cache.
 * Prints {"bench":"extract","encoder":…,"backend":…,"images_per_s":…,"after_first_batch_per_s":…}. Uses ../shared's
 * MobileNetV2-0.35 when present (CI), else the best encoder available (cache → download →
 * bundled fallback). --quick: 16 images instead of 64, --images N: N; --batch 8,32: one line per encoder batch size
 * (default: the job's, 32 at 224 px).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDb } from '../src-main/data/store.ts';
import { workspace } from '../src-main/data/workspace.ts';
import { importDataset } from '../src-main/data/importers/index.ts';
import { writeSynth } from '../src-main/data/synth/write-cub.ts';
import { backendInfo } from '../src-main/ml/backend.ts';
import { runExtract } from '../src-main/jobs/extract.ts';
import { defaultBatch } from '../src-main/jobs/encode-batch.ts';

export const SHARED_TM = resolve(process.cwd(), '../shared/encoders/mobilenet_v2_035_tm');

/** A fresh workspace with `n` synthetic photos imported (224 px, 4 species). */
export async function benchWorkspace(n: number): Promise<{ home: string; collection: number; root: string }> {
  const home = mkdtempSync(join(tmpdir(), 'plumage-bench-'));
  const out = join(home, 'synth');
  await writeSynth({ out, species: 4, perSpecies: Math.ceil(n / 4), size: 224, seed: 7 });
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  try {
    const r = await importDataset(db, ws, 'cub', join(out, 'CUB_200_2011'), { thumbnails: false });
    return { home, collection: r.collection, root: join(out, 'CUB_200_2011', 'images') };
  } finally {
    db.close();
  }
}

/**
 * Progress ticks with their times: the rate after the first batch leaves out the one-time cost
 * of the first encoder batch (TF.js / oneDNN set up each layer's kernels on first use), which a
 * short bench pays in full and a folder of thousands of photos spreads thin.
 */
export function progressClock() {
  const ticks: { done: number; ms: number }[] = [];
  return {
    onProgress: (done: number) => ticks.push({ done, ms: performance.now() }),
    afterFirstBatch(): number | null {
      const first = ticks.find((t) => t.done > 0);
      const last = ticks[ticks.length - 1];
      if (!first || !last || last.done <= first.done) return null;
      return Number(((1000 * (last.done - first.done)) / (last.ms - first.ms)).toFixed(2));
    },
  };
}

export async function benchExtract(opts: { quick?: boolean; batch?: number; images?: number } = {}) {
  const n = opts.quick ? 16 : (opts.images ?? 64);
  const { home } = await benchWorkspace(n);
  const clock = progressClock();
  const res = await runExtract({
    home,
    encoderPath: existsSync(SHARED_TM) ? SHARED_TM : undefined,
    batchSize: opts.batch,
    onProgress: clock.onProgress,
  });
  return {
    bench: 'extract',
    encoder: res.encoder,
    backend: backendInfo()?.detail ?? res.backend,
    images: res.extracted,
    batch: opts.batch ?? defaultBatch(224),
    images_per_s: Number(res.images_per_s.toFixed(2)),
    after_first_batch_per_s: clock.afterFirstBatch(),
  };
}

/** `--images N`: photos per bench (default 64). */
export function imageCount(argv: string[]): number | undefined {
  const i = argv.indexOf('--images');
  if (i < 0) return undefined;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 4) throw new Error(`--images takes a whole number ≥ 4, got ${argv[i + 1]}`);
  return n;
}

/** `--batch 8,32`: the batch sizes to measure, one line each (none given: the jobs' default). */
export function batchSizes(argv: string[]): (number | undefined)[] {
  const i = argv.indexOf('--batch');
  if (i < 0) return [undefined];
  const sizes = (argv[i + 1] ?? '').split(',').map(Number);
  if (!sizes.every((b) => Number.isInteger(b) && b >= 1)) throw new Error(`--batch takes whole numbers ≥ 1, got ${argv[i + 1]}`);
  return sizes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const images = imageCount(process.argv);
  for (const batch of batchSizes(process.argv))
    process.stdout.write(JSON.stringify(await benchExtract({ quick, batch, images })) + '\n');
}
