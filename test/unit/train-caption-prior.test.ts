/**
 * The captioner's prior feature (the mean captioner feature over the run's captioned training
 * photos, under its best weights): what training keeps in the sidecar, what loading a run checks,
 * and that evaluation's product decoding uses it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getRun } from '../../src-main/data/runs.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { evaluateRun } from '../../src-main/jobs/evaluate.ts';
import { checkpointPaths, loadRunModel, loadRunWeights, readSidecar } from '../../src-main/jobs/run-artifact.ts';
import { captionPrior } from '../../src-main/jobs/train/caption-prior.ts';
import type { Example } from '../../src-main/jobs/train/dataset.ts';
import { runTraining } from '../../src-main/jobs/train/loop.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import { FeatureCache } from '../../src-main/ml/feature-cache.ts';
import { feature, pooled, type Variant } from '../../src-main/ml/model.ts';
import { trainFixture } from '../helpers/train-fixture.ts';

beforeAll(async () => {
  process.env.PLUMAGE_BACKEND = process.env.PLUMAGE_BACKEND || 'wasm';
  await initBackend();
});

const tinyRun = { encoder: 'test_enc', dims: 'tiny' as const, epochs: 2, batch: 5, maxLen: 8, seed: 3, optimizer: 'adam' as const, lr: 0.01, patience: 10 };

/** The fixture's training photos (4 per class), as training sees them. */
function trainingPhotos(): Example[] {
  const out: Example[] = [];
  for (let c = 0; c < 3; c++) for (let i = 0; i < 4; i++) out.push({ imageId: 0, hash: `h${c}${i}`.padEnd(64, '0'), label: c, captions: ['a bird'] });
  return out;
}

/** The mean of the variant's captioner feature over the given photos, photo by photo. */
function meanFeature(P: Record<string, tf.Tensor>, variant: Variant, cache: FeatureCache, photos: Example[]): number[] {
  const rows = photos.map((e) => {
    const { data, shape } = cache.getBatch([e.hash]);
    return Array.from(tf.tidy(() => feature(P, variant, pooled(tf.tensor4d(data, shape)))).dataSync());
  });
  return rows[0].map((_, k) => rows.reduce((s, r) => s + r[k], 0) / rows.length);
}

describe('caption prior', () => {
  it('a finished run keeps the mean captioner feature of its training photos under its best weights; loading it checks the width', async () => {
    for (const variant of ['lrcn', 'medi'] as const) {
      const home = trainFixture();
      const ws = workspace(home);
      const r = await runTraining({ home, config: { ...tinyRun, variant } });
      const side = readSidecar(ws, r.run);
      const best = loadRunWeights(ws, r.run);
      const expected = meanFeature(best, variant, new FeatureCache(ws.features, 'test_enc'), trainingPhotos());
      expect(side.captionPrior).toHaveLength(expected.length);
      side.captionPrior!.forEach((x, k) => expect(x).toBeCloseTo(expected[k], 5));
      const db = openDb(ws.dbPath);
      const run = getRun(db, r.run)!;
      expect(loadRunModel(ws, run).prior).toEqual(side.captionPrior);
      // eval's product decoding ranks against it
      expect((await evaluateRun({ home, runId: r.run })).product!.decode).toBe('beam 3, α 1, no repeated 2-grams, contrast 0.3');
      // a sidecar whose prior does not fit the captioner is refused, not decoded with
      const path = checkpointPaths(ws, r.run).sidecar;
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), captionPrior: [1, 2] }));
      expect(() => loadRunModel(ws, run)).toThrow(/caption prior has 2 values/);
      // a run without one (older, imported) decodes without the ranking
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), captionPrior: undefined }));
      expect(loadRunModel(ws, run).prior).toBeNull();
      expect((await evaluateRun({ home, runId: r.run })).product!.decode).toBe('beam 3, α 1, no repeated 2-grams');
      db.close();
      tf.dispose(Object.values(best));
    }
  });

  it('averages only photos with captions, and is null without a captioner', () => {
    const home = trainFixture();
    const cache = new FeatureCache(workspace(home).features, 'test_enc');
    const photos = trainingPhotos();
    const uncaptioned = photos.map((e, i) => (i % 3 === 0 ? { ...e, captions: [] } : e));
    const P = { 'cap.embed.weight': tf.zeros([4, 2]) }; // lrcn's feature is the pooled map itself
    const got = captionPrior(P, 'lrcn', uncaptioned, cache, 4)!;
    const expected = meanFeature(P, 'lrcn', cache, uncaptioned.filter((e) => e.captions.length));
    got.forEach((x, k) => expect(x).toBeCloseTo(expected[k], 5));
    expect(got).not.toEqual(captionPrior(P, 'lrcn', photos, cache));
    expect(captionPrior(P, 'cnn', photos, cache)).toBeNull();
    expect(captionPrior(P, 'lrcn', [], cache)).toBeNull();
  });
});
