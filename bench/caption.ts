/**
 * Batch-caption speed (decode → encoder → f_medi → top-5 + the product decoding's caption →
 * batch_results): trains a small medi run on synthetic photos first (not timed), then captions the
 * photo folder, and a copy of it with the plain beam search (no contrastive ranking) as the
 * reference of the same sitting. Prints {"bench":"caption","images_per_s":…,"plain_images_per_s":…,
 * "ratio":…} (ratio = plain time / product time: below 1 is what the ranking costs). --quick: 16
 * photos instead of 64, --images N: N; --batch 8,32: one line per batch size (each trains its own run first).
 */
import { cpSync, existsSync } from 'node:fs';
import { backendInfo } from '../src-main/ml/backend.ts';
import { runCaption } from '../src-main/jobs/caption.ts';
import { runExtract } from '../src-main/jobs/extract.ts';
import { runTraining } from '../src-main/jobs/train/loop.ts';
import { defaultBatch } from '../src-main/jobs/encode-batch.ts';
import { batchSizes, benchWorkspace, imageCount, progressClock, SHARED_TM } from './extract.ts';

export async function benchCaption(opts: { quick?: boolean; batch?: number; images?: number } = {}) {
  const n = opts.quick ? 16 : (opts.images ?? 64);
  const { home, collection, root } = await benchWorkspace(n);
  const encoderPath = existsSync(SHARED_TM) ? SHARED_TM : undefined;
  const ex = await runExtract({ home, encoderPath, collectionId: collection });
  const tr = await runTraining({
    home,
    config: {
      variant: 'medi',
      encoder: ex.encoder,
      encoderPath,
      collectionId: collection,
      epochs: 1,
      batch: 16,
      dims: 'small',
      optimizer: 'adam',
      lr: 0.002,
    },
  });
  const clock = progressClock();
  const res = await runCaption({ home, folder: root, run: tr.run, encoderPath, beam: 3, batchSize: opts.batch, onProgress: clock.onProgress });
  // another folder: the same folder again would be skipped as already captioned by the run
  const plainRoot = `${root}-plain`;
  cpSync(root, plainRoot, { recursive: true });
  const plain = await runCaption({ home, folder: plainRoot, run: tr.run, encoderPath, beam: 3, contrast: 0, batchSize: opts.batch });
  return {
    bench: 'caption',
    encoder: ex.encoder,
    backend: backendInfo()?.detail ?? '',
    images: res.captioned,
    batch: opts.batch ?? defaultBatch(224),
    beam: 3,
    dims: 'small',
    images_per_s: Number(res.images_per_s.toFixed(2)),
    after_first_batch_per_s: clock.afterFirstBatch(),
    plain_images_per_s: Number(plain.images_per_s.toFixed(2)),
    ratio: Number((res.images_per_s / plain.images_per_s).toFixed(2)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const images = imageCount(process.argv);
  for (const batch of batchSizes(process.argv))
    process.stdout.write(JSON.stringify(await benchCaption({ quick, batch, images })) + '\n');
}
