/**
 * Feature-extraction speed: synthetic photos → decode (sharp) → encoder → float16 cache.
 * Prints {"bench":"extract","encoder":…,"backend":…,"images_per_s":…}. Uses ../shared's
 * MobileNetV2-0.35 when present (CI), else the best encoder available (cache → download →
 * bundled fallback). --quick: 16 images instead of 64; --batch 8,32: one line per encoder batch size
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

export async function benchExtract(opts: { quick?: boolean; batch?: number } = {}) {
  const n = opts.quick ? 16 : 64;
  const { home } = await benchWorkspace(n);
  const res = await runExtract({
    home,
    encoderPath: existsSync(SHARED_TM) ? SHARED_TM : undefined,
    batchSize: opts.batch,
  });
  return {
    bench: 'extract',
    encoder: res.encoder,
    backend: backendInfo()?.detail ?? res.backend,
    images: res.extracted,
    batch: opts.batch ?? defaultBatch(224),
    images_per_s: Number(res.images_per_s.toFixed(2)),
  };
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
  for (const batch of batchSizes(process.argv))
    process.stdout.write(JSON.stringify(await benchExtract({ quick, batch })) + '\n');
}
