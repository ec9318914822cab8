/**
 * Training with mirrored photos (`flipPhotos`): the maps of the training photos' mirror images
 * are extracted once with the run's encoder and cached beside the plain ones (none for the other
 * splits), they are the encoder's maps of the mirrored pixels, and the run's weights differ from
 * the same run without the option.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../src-main/data/importers/index.ts';
import { openDb } from '../../src-main/data/store.ts';
import { writeSynth } from '../../src-main/data/synth/write-cub.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { imagesToExtract, runExtract } from '../../src-main/jobs/extract.ts';
import { checkpointPaths } from '../../src-main/jobs/run-artifact.ts';
import { loadDataset } from '../../src-main/jobs/train/dataset.ts';
import { newRunConfig } from '../../src-main/jobs/train/config.ts';
import { runTraining } from '../../src-main/jobs/train/loop.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import { loadLocalEncoder, type LoadedEncoder } from '../../src-main/ml/encoders/load.ts';
import { decodeRgb, mirrorRgb, toInputBatch } from '../../src-main/ml/encoders/preprocess.ts';
import { FeatureCache, mirroredKey } from '../../src-main/ml/feature-cache.ts';
import { readSafetensors } from '../../src-main/ml/safetensors.ts';
import { SHARED_DIR } from '../helpers/shared.ts';

const TM = join(SHARED_DIR, 'encoders', 'mobilenet_v2_035_tm');
let encoder: LoadedEncoder;
let root = '';

beforeAll(async () => {
  await initBackend();
  root = mkdtempSync(join(tmpdir(), 'plumage-mirrored-'));
  await writeSynth({ out: join(root, 'synth'), species: 3, perSpecies: 4, size: 64, seed: 3 });
  encoder = await loadLocalEncoder(TM);
}, 120_000);

afterAll(() => encoder?.dispose());

/** A fresh workspace with the synthetic birds imported and their plain maps cached. */
async function workspaceWithFeatures(name: string): Promise<string> {
  const home = join(root, name);
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  await importDataset(db, ws, 'cub', join(root, 'synth', 'CUB_200_2011'), { captions: join(root, 'synth', 'text_c10') });
  db.close();
  await runExtract({ home, encoderPath: TM });
  return home;
}

const config = {
  variant: 'medi' as const,
  dims: 'tiny' as const,
  epochs: 2,
  batch: 4,
  optimizer: 'adam' as const,
  lr: 0.01,
  seed: 5,
  patience: 9,
};

const weightsOf = (home: string, run: string) =>
  Array.from(readSafetensors(checkpointPaths(workspace(home), run).resumeWeights).tensors['medi.weight'].data);

describe('mirrored photos', () => {
  it('mirror decoded pixels left–right', () => {
    // 2×2 pixels, RGB
    const img = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(mirrorRgb(img, 2))).toEqual([4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
  });

  it('are extracted for the training photos only, as the encoder sees the mirrored pixels, and change the run', async () => {
    const home = await workspaceWithFeatures('with');
    const ws = workspace(home);
    // no encoder given: the mirrored photos go through the folder the plain maps came from
    const res = await runTraining({ home, config: { ...config, flipPhotos: true } });
    expect(res.encoder).toBe(encoder.id);
    expect(res.status).toBe('done');
    const cache = new FeatureCache(ws.features, res.encoder);
    const db = openDb(ws.dbPath);
    const data = loadDataset(db, newRunConfig({ ...config, flipPhotos: true }));
    db.close();
    expect(data.train.length).toBeGreaterThan(0);
    for (const e of data.train) expect(cache.has(mirroredKey(e.hash)), e.hash).toBe(true);
    for (const e of [...data.val, ...data.test]) expect(cache.has(mirroredKey(e.hash)), e.hash).toBe(false);

    // the cached mirrored map is the encoder's map of the mirrored pixels (float16 in the cache)
    const first = imagesToExtract(home).find((r) => r.hash === data.train[0].hash)!;
    const px = mirrorRgb(await decodeRgb(first.path, encoder.inputSize), encoder.inputSize);
    const x = toInputBatch([px], encoder.inputSize, encoder.preprocess);
    const want = encoder.embed(x).dataSync();
    tf.dispose(x);
    const got = cache.get(mirroredKey(first.hash)).data;
    const plain = cache.get(first.hash).data;
    const scale = Math.max(...Array.from(want, Math.abs));
    want.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-2 * scale + 1e-3));
    expect(Array.from(got)).not.toEqual(Array.from(plain));

    const without = await workspaceWithFeatures('without');
    const plainRun = await runTraining({ home: without, config: { ...config, encoderPath: TM } });
    expect(weightsOf(home, res.run)).not.toEqual(weightsOf(without, plainRun.run));
    // …and the plain run extracted no mirrored maps
    const other = new FeatureCache(workspace(without).features, plainRun.encoder);
    expect(data.train.some((e) => other.has(mirroredKey(e.hash)))).toBe(false);
  }, 180_000);
});
