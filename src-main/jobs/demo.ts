/**
 * What only the demo measures (the demo itself is the operation api/ops/demo.ts): the share of
 * colour-part phrases in the test captions that match the bird the generator drew, and the
 * greedy captions of the test split it is computed on. Also the demo's result types.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openDb } from '../data/store.ts';
import { workspace } from '../data/workspace.ts';
import { FeatureCache } from '../ml/feature-cache.ts';
import { paramsFromTensors, predict, type Variant } from '../ml/model.ts';
import type { HeadlineMetrics } from './headline-metrics.ts';
import { loadRunWeights, readSidecar } from './run-artifact.ts';
import { decodeCaption } from './train/dataset.ts';

export interface DemoMetrics extends HeadlineMetrics {
  /**
   * Share of "<colour> [word] <part>" phrases in the greedy test captions that match the colour
   * the generator drew for that part of the species (synthetic birds only).
   */
  attribute_precision: number | null;
}

export interface DemoRow {
  variant: Variant;
  run: string;
  epochs_run: number;
  train_seconds: number;
  metrics: DemoMetrics;
  /** The run this one was warm-started from (cam fine-tunes medi). */
  warm_start: string | null;
}

export interface DemoResult {
  species: number;
  per_species: number;
  collection: number;
  encoder: string;
  backend: string;
  /** Images newly extracted vs found in the feature cache. */
  extract: { extracted: number; cached: number; images_per_s: number };
  rows: DemoRow[];
  seconds: number;
  timings: Record<string, number>;
  warnings: string[];
}

export interface SynthInfo {
  attributes: Record<string, string[]>;
  species: { folder: string; attributes: Record<string, string> }[];
}

const PART_ATTRIBUTE: Record<string, string> = {
  crown: 'crown_color',
  wing: 'wing_color',
  wings: 'wing_color',
  breast: 'breast_color',
  belly: 'belly_color',
  tail: 'tail_color',
  leg: 'leg_color',
  legs: 'leg_color',
  bill: 'bill_color',
  beak: 'bill_color',
};

/** Scores captions against the drawn attributes: correct / all colour-part phrases. */
export function attributePrecision(
  captions: { folder: string; caption: string }[],
  synth: SynthInfo,
): number | null {
  const colours = new Set(
    Object.entries(synth.attributes).flatMap(([k, v]) => (k.endsWith('_color') ? v : [])),
  );
  const bySpecies = new Map(synth.species.map((s) => [s.folder, s.attributes]));
  let ok = 0;
  let all = 0;
  for (const { folder, caption } of captions) {
    const attrs = bySpecies.get(folder);
    if (!attrs) continue;
    const w = caption.split(/\s+/);
    for (let i = 0; i < w.length; i++) {
      if (!colours.has(w[i])) continue;
      // "a green belly", "a green forked tail": the part word right after, or one word later.
      const j = [i + 1, i + 2].find((k) => PART_ATTRIBUTE[w[k]] !== undefined);
      if (j === undefined) continue;
      all++;
      if (attrs[PART_ATTRIBUTE[w[j]]] === w[i]) ok++;
    }
  }
  return all ? ok / all : null;
}

/** Greedy captions of the test split from the run's best checkpoint, by species folder. */
export function testCaptions(
  home: string,
  runId: string,
  collectionId: number,
): { folder: string; caption: string }[] {
  const ws = workspace(home);
  const side = readSidecar(ws, runId);
  const db = openDb(ws.dbPath);
  const rows = db
    .prepare(
      `SELECT i.content_hash AS hash, i.rel_path AS rel FROM images i
         JOIN splits s ON s.image_id = i.id AND s.scheme = 'default'
        WHERE i.collection_id = ? AND s.part = 'test' ORDER BY i.id`,
    )
    .all(collectionId) as { hash: string; rel: string }[];
  db.close();
  const cache = new FeatureCache(ws.features, side.encoder);
  const weights = loadRunWeights(ws, runId);
  const { params } = paramsFromTensors(weights, side.variant);
  for (const t of Object.values(weights)) t.dispose();
  const out: { folder: string; caption: string }[] = [];
  try {
    for (let i = 0; i < rows.length; i += 64) {
      const chunk = rows.slice(i, i + 64).filter((r) => cache.has(r.hash));
      if (!chunk.length) continue;
      const { data, shape } = cache.getBatch(chunk.map((r) => r.hash));
      const ids = tf.tidy(() =>
        predict(params, side.variant, tf.tensor4d(data, shape), { T: side.maxLen }).captions!.arraySync(),
      ) as number[][];
      chunk.forEach((r, k) =>
        out.push({ folder: r.rel.split('/').slice(-2)[0], caption: decodeCaption(ids[k], side.vocab) }),
      );
    }
  } finally {
    for (const p of Object.values(params)) p.dispose();
  }
  return out;
}

/** The generator's record of the species it drew (synth.json beside the CUB folder). */
export function readSynthInfo(synthDir: string): SynthInfo {
  return JSON.parse(readFileSync(join(synthDir, 'synth.json'), 'utf8')) as SynthInfo;
}
