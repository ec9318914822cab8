/**
 * Training levers beyond the paper, all off by default: every caption of a photo per epoch,
 * dropout on the captioner's embeddings and LSTM outputs, label smoothing of L_class and
 * L_caption, dropout on the classifier's input, decoupled weight decay (its update rule is in ml-optim.test.ts), random windows of
 * the cached feature maps. Each does what it says, only while training, and leaves the contract's losses
 * and gradients exactly as they are when off.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getRun } from '../../src-main/data/runs.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { checkpointPaths } from '../../src-main/jobs/run-artifact.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../../src-main/jobs/train/config.ts';
import type { Example } from '../../src-main/jobs/train/dataset.ts';
import { optionsAtStep, regularisation, runTraining } from '../../src-main/jobs/train/loop.ts';
import { itemCaption, trainItems } from '../../src-main/jobs/train/sampling.ts';
import { cropMaps, cropOffsets, mirrorMasks, mirrorRows } from '../../src-main/jobs/train/augment.ts';
import { algorithm1Grads } from '../../src-main/ml/algorithm1.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import {
  capPrep,
  captionLoss,
  classify,
  classLoss,
  greedyDecode,
  initParams,
  medi,
  pooled,
  teacherForced,
  type ModelDims,
} from '../../src-main/ml/model.ts';
import { readSafetensors } from '../../src-main/ml/safetensors.ts';
import { loopCandidates, ownLoopUnlikelihood, repeatCandidates } from '../../src-main/ml/unlikelihood.ts';
import { sampledInputs } from '../../src-main/ml/scheduled-sampling.ts';
import { trainFixture } from '../helpers/train-fixture.ts';

beforeAll(async () => {
  process.env.PLUMAGE_BACKEND = process.env.PLUMAGE_BACKEND || 'wasm';
  await initBackend();
});

const ex = (imageId: number, captions: string[]): Example => ({
  imageId,
  hash: `h${imageId}`,
  label: 0,
  captions,
});

/** A short run on the tiny fixture (trainFixture), every lever off. */
const tinyRun = {
  encoder: 'test_enc',
  dims: 'tiny' as const,
  epochs: 2,
  batch: 5,
  maxLen: 8,
  seed: 3,
  optimizer: 'adam' as const,
  lr: 0.01,
  patience: 10,
};

/** Trains a tiny run on a fresh fixture: the config it recorded, its learned weights, its step count. */
async function trainRecorded(config: Parameters<typeof runTraining>[0]['config']) {
  const home = trainFixture();
  const r = await runTraining({ home, config });
  const db = openDb(workspace(home).dbPath);
  const stored = getRun(db, r.run)!.config as Partial<TrainConfig>;
  db.close();
  const w = readSafetensors(checkpointPaths(workspace(home), r.run).resumeWeights).tensors;
  return { stored, medi: Array.from(w['medi.weight'].data), cls: Array.from(w['cls.weight'].data), steps: r.steps };
}

/**
 * A training option reaches the run: `on` is recorded in its config and the run learns other
 * weights in as many steps, while `off` (the option at 0) trains exactly the plain run.
 */
async function expectOptionActs(on: Partial<TrainConfig>, off: Partial<TrainConfig>, base: Partial<TrainConfig> = {}) {
  const run = { ...tinyRun, variant: 'medi' as const, ...base };
  const plain = await trainRecorded(run);
  expect((await trainRecorded({ ...run, ...off })).medi).toEqual(plain.medi);
  const acted = await trainRecorded({ ...run, ...on });
  expect(acted.stored).toMatchObject(on);
  expect(acted.medi).not.toEqual(plain.medi);
  expect(acted.steps).toBe(plain.steps);
  return acted;
}

describe('all captions per epoch', () => {
  const train = [ex(1, ['a', 'b', 'c']), ex(2, []), ex(3, ['d'])];

  it('by default shows each image once, its caption drawn at random when used', () => {
    const items = trainItems(train, false);
    expect(items.map((i) => [i.example.imageId, i.caption])).toEqual([
      [1, null],
      [2, null],
      [3, null],
    ]);
    expect(itemCaption(items[0], () => 2)).toBe('c');
    expect(itemCaption(items[1], () => 0)).toBe('');
  });

  it('with allCaptions shows every (image, caption) pair once; an image without captions once', () => {
    const items = trainItems(train, true);
    const shown = items.map((i) => `${i.example.imageId}:${itemCaption(i, () => 0)}`);
    expect(shown).toEqual(['1:a', '1:b', '1:c', '2:', '3:d']);
    // the drawn index is never used for a fixed pair
    expect(itemCaption(items[1], () => 0)).toBe('b');
  });

  it('makes a training epoch one step per batch of pairs (12 images × 2 captions, batch 5 → 5 steps)', async () => {
    const home = trainFixture();
    const base = { ...tinyRun, variant: 'lrcn' as const };
    const one = await runTraining({ home, config: base });
    const all = await runTraining({ home, config: { ...base, allCaptions: true } });
    expect(one.steps).toBe(2 * 3);
    expect(all.steps).toBe(2 * 5);
    const db = openDb(workspace(home).dbPath);
    expect((getRun(db, all.run)!.config as Partial<TrainConfig>).allCaptions).toBe(true);
    db.close();
  });
});

const dims: ModelDims = { K: 6, D: 5, E: 4, Hd: 5, V: 9, C: 3 };

/** Fixed small inputs: features [2,F], labels, two captions of length 6. */
function inputs() {
  const feat = tf.tensor2d([0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.6, 0.0, -0.3, 0.4], [2, 5]);
  const caps = tf.tensor2d([1, 4, 5, 6, 2, 0, 1, 7, 8, 4, 5, 2], [2, 6], 'int32');
  return { feat, caps };
}

describe('label smoothing', () => {
  it('of L_class is the cross-entropy against (1 − ε)·one-hot + ε/C, and plain at ε = 0', () => {
    const logits = tf.tensor2d([1, 2, 0.5, -1, 0, 3], [2, 3]);
    const labels = tf.tensor1d([1, 0], 'int32');
    const lp = [
      [1, 2, 0.5],
      [-1, 0, 3],
    ].map((row) => {
      const z = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
      return row.map((x) => x - z);
    });
    const eps = 0.2;
    const smoothed = (row: number[], y: number) =>
      -row.reduce((s, l, k) => s + ((k === y ? 1 - eps : 0) + eps / 3) * l, 0);
    expect(classLoss(logits, labels).dataSync()[0]).toBeCloseTo(-(lp[0][1] + lp[1][0]) / 2, 5);
    expect(classLoss(logits, labels, eps).dataSync()[0]).toBeCloseTo(
      (smoothed(lp[0], 1) + smoothed(lp[1], 0)) / 2,
      5,
    );
  });

  it('of L_caption smooths every non-PAD target word over the vocabulary', () => {
    const P = initParams('lrcn', { ...dims, K: 5 }, 11);
    const { feat, caps } = inputs();
    const cp = capPrep(P);
    const lp = tf.logSoftmax(teacherForced(cp, feat, caps)).arraySync() as number[][];
    const ids = caps.arraySync() as number[][];
    const eps = 0.1;
    let plain = 0;
    let smooth = 0;
    let n = 0;
    ids.forEach((row, b) =>
      row.slice(1).forEach((y, t) => {
        if (y === 0) return;
        const l = lp[b * 5 + t];
        plain -= l[y];
        smooth -= (1 - eps) * l[y] + (eps / dims.V) * l.reduce((s, x) => s + x, 0);
        n++;
      }),
    );
    expect(captionLoss(cp, feat, caps).dataSync()[0]).toBeCloseTo(plain / n, 5);
    expect(captionLoss(cp, feat, caps, { smoothing: eps }).dataSync()[0]).toBeCloseTo(smooth / n, 5);
    tf.dispose(Object.values(P));
  });
});

describe('unlikelihood of repeats of what a caption already wrote', () => {
  // BOS a b a c EOS PAD, with a=4 b=5 c=6 and UNK=3 in the second row
  const caps = Int32Array.from([1, 4, 5, 4, 6, 2, 0, 1, 3, 4, 3, 4, 2, 0]);
  const V = 8;
  const pairs = (idx: Int32Array) => Array.from(idx, (i) => [Math.floor(i / V), i % V]);

  it('penalises, at each position, the earlier words other than the one due next', () => {
    expect(pairs(repeatCandidates(caps, 2, 7, V))).toEqual([
      [1, 4], // a b: a already written
      [2, 5], // a b a: b (a is due, so free)
      [3, 4], [3, 5], // a b a c
      [4, 4], [4, 5], [4, 6], // … EOS: every word written
      // row 2: UNK is never a candidate, and a is due again at its second place
      [6 + 2, 4], // BOS UNK a UNK: a
      [6 + 4, 4], // … EOS
    ]);
  });

  it('with bigrams, penalises only a word that would write an earlier bigram again', () => {
    // BOS a b and a b and a EOS: after the second "a", b is due (free); after the second "b", "and"
    // is due (free); after the third "a", EOS is due and b would repeat "a b"
    const loop = Int32Array.from([1, 4, 5, 6, 4, 5, 6, 4, 2]);
    expect(pairs(repeatCandidates(loop, 1, 9, V, 'bigrams'))).toEqual([[7, 5]]);
    // BOS a b and a c and a c EOS (c = 7): "a" after "and" is due both times, so free
    const twice = Int32Array.from([1, 4, 5, 6, 4, 7, 6, 4, 7, 2]);
    expect(pairs(repeatCandidates(twice, 1, 10, V, 'bigrams'))).toEqual([
      [4, 5], // a → b was written, c is due
      [7, 5], // a → b and a → c were written, c is due
      [8, 6], // c → and was written, EOS is due
    ]);
  });

  it('adds α·Σ −log(1 − p) over those repeats to L_caption, per non-PAD target word; α = 0 is the plain loss', () => {
    const P = initParams('lrcn', { ...dims, K: 5 }, 11);
    const { feat, caps: c } = inputs();
    const cp = capPrep(P);
    const lp = tf.logSoftmax(teacherForced(cp, feat, c)).arraySync() as number[][];
    const ids = c.arraySync() as number[][];
    let plain = 0;
    let n = 0;
    ids.forEach((row, b) =>
      row.slice(1).forEach((y, t) => {
        if (y === 0) return;
        plain -= lp[b * 5 + t][y];
        n++;
      }),
    );
    const [B, T] = c.shape;
    const idx = repeatCandidates(c.dataSync() as Int32Array, B, T, dims.V);
    expect(idx.length).toBeGreaterThan(0);
    const ul = Array.from(idx).reduce((s, i) => s - Math.log(1 - Math.exp(lp[Math.floor(i / dims.V)][i % dims.V])), 0);
    expect(captionLoss(cp, feat, c, { unlikelihood: 0 }).dataSync()[0]).toBe(captionLoss(cp, feat, c).dataSync()[0]);
    expect(captionLoss(cp, feat, c, { unlikelihood: 2 }).dataSync()[0]).toBeCloseTo((plain + 2 * ul) / n, 5);
    tf.dispose(Object.values(P));
  });

  it('reaches the step, is recorded and changes what a run learns; off is the plain run', async () => {
    const cfg: TrainConfig = { ...DEFAULT_CONFIG, variant: 'lrcn', unlikelihood: 1.5 };
    expect(regularisation(cfg, 3)).toEqual({
      classSmoothing: 0,
      captionSmoothing: 0,
      unlikelihood: 1.5,
      unlikelihoodOf: 'words',
      dropout: undefined,
    });
    expect(regularisation({ ...cfg, unlikelihoodOf: 'bigrams' }, 3)!.unlikelihoodOf).toBe('bigrams');
    expect(regularisation({ ...cfg, unlikelihood: 0 }, 3)).toBeUndefined();
    const ul = await expectOptionActs({ unlikelihood: 1 }, { unlikelihood: 0 });
    const bigrams = await trainRecorded({ ...tinyRun, variant: 'medi', unlikelihood: 1, unlikelihoodOf: 'bigrams' });
    expect(bigrams.stored.unlikelihoodOf).toBe('bigrams');
    expect(bigrams.medi).not.toEqual(ul.medi);
  });
});

describe("unlikelihood of the loops in the captioner's own greedy captions", () => {
  const V = 9;
  const pairs = (idx: Int32Array) => Array.from(idx, (i) => [Math.floor(i / V), i % V]);

  it('marks each word that writes again a bigram of two words the caption already wrote, up to its EOS', () => {
    // BOS a b a b a EOS a b: the second "a b" and "b a" repeat; nothing after EOS counts
    // BOS UNK a UNK a c: UNK is no word, so "UNK a" never counts
    const own = Int32Array.from([1, 4, 5, 4, 5, 4, 2, 4, 5, 1, 3, 4, 3, 4, 6, 0, 0, 0]);
    expect(pairs(loopCandidates(own, 2, 9, V))).toEqual([
      [3, 5], // a b a b: b writes "a b" again
      [4, 4], // … b a: "b a" again
    ]);
    // a caption that never loops has none
    expect(loopCandidates(Int32Array.from([1, 4, 5, 6, 7, 2]), 1, 6, V).length).toBe(0);
  });

  it("is Σ −log(1 − p) of those words, each p from teacher forcing on the captioner's own greedy caption", () => {
    const P = initParams('lrcn', { ...dims, K: 5 }, 11);
    const { feat } = inputs();
    const cp = capPrep(P);
    const own = greedyDecode(P, feat, 8);
    const ids = own.dataSync() as Int32Array;
    const idx = loopCandidates(ids, 2, 8, dims.V);
    // an untrained captioner loops, so there is something to sum
    expect(idx.length).toBeGreaterThan(0);
    const lp = tf.logSoftmax(teacherForced(cp, feat, own)).arraySync() as number[][];
    const want = Array.from(idx).reduce((s, i) => s - Math.log(1 - Math.exp(lp[Math.floor(i / dims.V)][i % dims.V])), 0);
    expect(ownLoopUnlikelihood(cp, feat, 8).dataSync()[0]).toBeCloseTo(want, 5);
    tf.dispose(Object.values(P));
  });

  it('reaches the step, is recorded and changes what a run learns; off is the plain run', async () => {
    const cfg: TrainConfig = { ...DEFAULT_CONFIG, variant: 'lrcn', loopUnlikelihood: 2 };
    expect(regularisation(cfg, 3)!.loopUnlikelihood).toBe(2);
    expect(regularisation({ ...cfg, loopUnlikelihood: 0 }, 3)).toBeUndefined();
    // the tiny run's seed 3 starts with a captioner that says "BOS w EOS", which cannot loop;
    // seed 2's starts by looping on one word ("BOS w w w …")
    await expectOptionActs({ loopUnlikelihood: 2 }, { loopUnlikelihood: 0 }, { seed: 2 });
  });
});

describe("model selection by the product decoding's validation CIDEr-D (the rest: train-options.test.ts)", () => {
  it('is recorded, and every epoch of the run carries the CIDEr-D it chose by', async () => {
    const home = trainFixture();
    const r = await runTraining({ home, config: { ...tinyRun, variant: 'medi', select: 'product' } });
    const db = openDb(workspace(home).dbPath);
    const run = getRun(db, r.run)!;
    db.close();
    expect((run.config as Partial<TrainConfig>).select).toBe('product');
    const vals = run.epochs.map((e) => e.val as { cider?: number; top1: number; score: number });
    expect(vals.length).toBe(2);
    for (const v of vals) expect(v.score).toBeCloseTo(v.top1 + v.cider!, 12);
  });
});

describe('self-critical training (the rest: ml-self-critical.test.ts)', () => {
  it('is recorded and changes what a run learns; at 0 the run is the plain one', async () => {
    await expectOptionActs({ selfCritical: 2 }, { selfCritical: 0 }, { seed: 2 });
  });

  it("with 3 samples per photo and their mean as baseline is recorded and learns other weights than the greedy baseline; 1 sample is the greedy one's run", async () => {
    await expectOptionActs({ selfCriticalSamples: 3 }, { selfCriticalSamples: 1 }, { seed: 2, selfCritical: 2 });
  });

  it("starts after the given share of the run's steps: before, the step trains without it", () => {
    const cfg: TrainConfig = { ...DEFAULT_CONFIG, variant: 'lrcn', selfCritical: 2, selfCriticalFrom: 0.45 };
    // 10 steps: 4.5 of them without the term, rounded up
    expect(optionsAtStep(cfg, 4, 10).selfCritical).toBe(0);
    expect(optionsAtStep(cfg, 5, 10)).toBe(cfg);
    expect(optionsAtStep({ ...cfg, selfCriticalFrom: 0 }, 0, 10).selfCritical).toBe(2);
    const df = () => ({ counts: new Map(), photos: 1 });
    expect(regularisation(optionsAtStep(cfg, 4, 10), 4, df)).toBeUndefined();
    expect(regularisation(optionsAtStep(cfg, 5, 10), 5, df)!.selfCritical!.weight).toBe(2);
  });

  it('started part-way, is recorded and learns other weights than from the first step; started after the last step, the run is the plain one', async () => {
    const run = { seed: 2, selfCritical: 2 };
    await expectOptionActs({ selfCriticalFrom: 0.5 }, { selfCriticalFrom: 0 }, run);
    const never = await trainRecorded({ ...tinyRun, variant: 'medi', ...run, selfCriticalFrom: 0.99 });
    const plain = await trainRecorded({ ...tinyRun, variant: 'medi', ...run, selfCritical: 0 });
    expect(never.medi).toEqual(plain.medi);
    const half = await trainRecorded({ ...tinyRun, variant: 'medi', ...run, selfCriticalFrom: 0.5 });
    expect(half.medi).not.toEqual(plain.medi);
  });
});

describe('scheduled sampling (the captioner fed a share of its own guesses)', () => {
  // BOS a b c EOS PAD and BOS UNK a EOS PAD PAD; the guesses g[b, t] are for caps[b, t+1]
  const caps = Int32Array.from([1, 4, 5, 6, 2, 0, 1, 3, 4, 2, 0, 0]);
  const guesses = Int32Array.from([7, 8, 8, 2, 2, 8, 8, 2, 2, 2]);

  it('replaces only words, each by the guess for its own position, and nothing at rate 0', () => {
    const at = (rate: number, seed = 1, firstRow = 0) => Array.from(sampledInputs(caps, guesses, 2, 6, { rate, seed, firstRow }));
    expect(at(0)).toEqual([1, 4, 5, 6, 2, 1, 3, 4, 2, 0]);
    // rate 1: every word (UNK included) becomes the guess made one step before; BOS, EOS, PAD stay
    expect(at(1)).toEqual([1, 7, 8, 8, 2, 1, 8, 8, 2, 0]);
    // in between, some of each: over many seeds about the rate of the 5 word places
    let replaced = 0;
    for (let seed = 0; seed < 400; seed++) replaced += at(0.3, seed).filter((w, i) => w !== at(0)[i]).length;
    expect(replaced / (400 * 5)).toBeGreaterThan(0.25);
    expect(replaced / (400 * 5)).toBeLessThan(0.35);
    // the same seed draws the same; each row its own stream, so the second row alone, as a part
    // starting at row 1, draws what it drew in the whole batch
    expect(at(0.5, 9)).toEqual(at(0.5, 9));
    const part = Array.from(sampledInputs(caps.slice(6), guesses.slice(5), 1, 6, { rate: 0.5, seed: 9, firstRow: 1 }));
    expect(part).toEqual(at(0.5, 9).slice(5));
  });

  it("is L_caption of teacher forcing on those inputs, the guesses the captioner's own argmax (never PAD or BOS)", () => {
    const P = initParams('lrcn', { ...dims, K: 5 }, 11);
    const { feat, caps: c } = inputs();
    const cp = capPrep(P);
    const sampling = { rate: 0.7, seed: 4 };
    const logits = teacherForced(cp, feat, c).arraySync() as number[][];
    const own = Int32Array.from(logits, (row) => row.reduce((best, x, w) => (w > 1 && x > row[best] ? w : best), 2));
    const fed = tf.tensor2d(sampledInputs(c.dataSync() as Int32Array, own, 2, 6, sampling), [2, 5], 'int32');
    expect(Array.from(fed.dataSync())).not.toEqual(Array.from(tf.slice(c, [0, 0], [2, 5]).dataSync()));
    const lp = tf.logSoftmax(teacherForced(cp, feat, c, undefined, false, fed)).arraySync() as number[][];
    let nll = 0;
    let n = 0;
    (c.arraySync() as number[][]).forEach((row, b) =>
      row.slice(1).forEach((y, t) => {
        if (y === 0) return;
        nll -= lp[b * 5 + t][y];
        n++;
      }),
    );
    expect(captionLoss(cp, feat, c, { sampling }).dataSync()[0]).toBeCloseTo(nll / n, 5);
    expect(captionLoss(cp, feat, c, { sampling: { rate: 0, seed: 4 } }).dataSync()[0]).toBe(captionLoss(cp, feat, c).dataSync()[0]);
    tf.dispose(Object.values(P));
  });

  it('reaches the step on a stream of its own, is recorded and changes what a run learns; off is the plain run', async () => {
    const cfg: TrainConfig = { ...DEFAULT_CONFIG, variant: 'lrcn', scheduledSampling: 0.25 };
    const r = regularisation(cfg, 3)!;
    expect(r.sampling!.rate).toBe(0.25);
    expect(regularisation(cfg, 4)!.sampling!.seed).not.toBe(r.sampling!.seed);
    expect(regularisation({ ...cfg, dropout: 0.3 }, 3)!.dropout!.seed).not.toBe(r.sampling!.seed);
    expect(regularisation({ ...cfg, scheduledSampling: 0 }, 3)).toBeUndefined();
    await expectOptionActs({ scheduledSampling: 0.5 }, { scheduledSampling: 0 });
  });
});

describe('caption dropout', () => {
  it('changes the training loss reproducibly per seed; rate 0 is the contract loss', () => {
    const P = initParams('lrcn', { ...dims, K: 5 }, 11);
    const { feat, caps } = inputs();
    const cp = capPrep(P);
    const loss = (dropout?: { rate: number; seed: number }) =>
      captionLoss(cp, feat, caps, { dropout }).dataSync()[0];
    const plain = loss();
    expect(loss({ rate: 0, seed: 1 })).toBe(plain);
    const a = loss({ rate: 0.5, seed: 1 });
    expect(a).not.toBe(plain);
    expect(loss({ rate: 0.5, seed: 1 })).toBe(a);
    expect(loss({ rate: 0.5, seed: 2 })).not.toBe(a);
    tf.dispose(Object.values(P));
  });

  it('drops the embedding and the LSTM output at the given rate, scaling the rest by 1/(1 − rate)', () => {
    // Every seed drops some units (the logits change), and inverted dropout keeps the expected
    // values: averaged over many seeds the logits approach the undropped ones.
    const P = initParams('lrcn', { ...dims, K: 5 }, 11);
    const { feat, caps } = inputs();
    const cp = capPrep(P);
    const plain = teacherForced(cp, feat, caps).dataSync();
    const runs = 300;
    const mean = new Float64Array(plain.length);
    let differs = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const d = teacherForced(cp, feat, caps, { rate: 0.3, seed }).dataSync();
      if (d.some((x, i) => x !== plain[i])) differs++;
      d.forEach((x, i) => (mean[i] += x / runs));
    }
    expect(differs).toBe(runs);
    // not exact (the LSTM is non-linear in the dropped embedding), but close on average
    const err = Math.max(...Array.from(mean, (m, i) => Math.abs(m - plain[i])));
    const scale = Math.max(...Array.from(plain, Math.abs));
    expect(err).toBeLessThan(0.1 * scale);
    tf.dispose(Object.values(P));
  });

  it('never touches the CAM terms: L_cam gradients are the same with or without it', () => {
    const P = initParams('cam', dims, 5);
    const A = tf.randomUniform([2, 2, 2, 6], 0, 1, 'float32', 9) as tf.Tensor4D;
    const batch = { A, labels: tf.tensor1d([0, 2], 'int32'), captions: inputs().caps };
    const on = algorithm1Grads(P, 'cam', batch, {
      terms: 'cam',
      regularise: { dropout: { rate: 0.5, seed: 4 }, captionSmoothing: 0.1 },
    });
    const off = algorithm1Grads(P, 'cam', batch, { terms: 'cam' });
    for (const n of Object.keys(off.grads))
      expect(Array.from(on.grads[n].dataSync()), n).toEqual(Array.from(off.grads[n].dataSync()));
    expect(on.losses.cam).toBe(off.losses.cam);
    // …while the full step's gradients do change
    const full = algorithm1Grads(P, 'cam', batch, { regularise: { dropout: { rate: 0.5, seed: 4 } } });
    const plain = algorithm1Grads(P, 'cam', batch);
    expect(Array.from(full.grads['cap.out.weight'].dataSync())).not.toEqual(
      Array.from(plain.grads['cap.out.weight'].dataSync()),
    );
    tf.dispose(Object.values(P));
  });
});

describe('classifier dropout', () => {
  const batchOf = () => ({
    A: tf.randomUniform([2, 2, 2, 6], 0, 1, 'float32', 9) as tf.Tensor4D,
    labels: tf.tensor1d([0, 2], 'int32'),
    captions: inputs().caps,
  });
  const values = (t: tf.Tensor) => Array.from(t.dataSync());

  it("is L_class on the dropped classifier input (medi: h); rate 0 is the contract's, the same seed the same drop", () => {
    const P = initParams('medi', dims, 5);
    const batch = batchOf();
    const d = { rate: 0.5, seed: 4 };
    const plain = algorithm1Grads(P, 'medi', batch);
    const on = algorithm1Grads(P, 'medi', batch, { regularise: { classDropout: d } });
    // by hand: the classifier of the dropped h (tf.dropout with the same seed: inverted, kept units × 2)
    const want = tf.tidy(() => {
      const h = medi(P, pooled(batch.A)).h;
      return classLoss(classify(P, tf.dropout(h, d.rate, undefined, d.seed) as tf.Tensor2D), batch.labels).dataSync()[0];
    });
    expect(on.losses.class).toBeCloseTo(want, 5);
    expect(on.losses.class).not.toBe(plain.losses.class);
    expect(values(on.grads['cls.weight'])).not.toEqual(values(plain.grads['cls.weight']));
    expect(algorithm1Grads(P, 'medi', batch, { regularise: { classDropout: d } }).losses.class).toBe(on.losses.class);
    const zero = algorithm1Grads(P, 'medi', batch, { regularise: { classDropout: { rate: 0, seed: 4 } } });
    for (const n of Object.keys(plain.grads)) expect(values(zero.grads[n]), n).toEqual(values(plain.grads[n]));
    // L_caption and the captioner's gradients never see the drop
    expect(on.losses.caption).toBe(plain.losses.caption);
    for (const n of Object.keys(plain.grads).filter((k) => k.startsWith('cap.')))
      expect(values(on.grads[n]), n).toEqual(values(plain.grads[n]));
    tf.dispose(Object.values(P));
  });

  it('leaves cnn alone: it has no shared layer, its step is the plain one', () => {
    const P = initParams('cnn', dims, 5);
    const batch = batchOf();
    const plain = algorithm1Grads(P, 'cnn', batch);
    const on = algorithm1Grads(P, 'cnn', batch, { regularise: { classDropout: { rate: 0.5, seed: 4 } } });
    expect(on.losses.class).toBe(plain.losses.class);
    for (const n of Object.keys(plain.grads)) expect(values(on.grads[n]), n).toEqual(values(plain.grads[n]));
    tf.dispose(Object.values(P));
  });

  it('never touches the CAM terms: L_cam and its gradients are the same with or without it', () => {
    const P = initParams('cam', dims, 5);
    const batch = batchOf();
    const on = algorithm1Grads(P, 'cam', batch, { terms: 'cam', regularise: { classDropout: { rate: 0.5, seed: 4 } } });
    const off = algorithm1Grads(P, 'cam', batch, { terms: 'cam' });
    for (const n of Object.keys(off.grads)) expect(values(on.grads[n]), n).toEqual(values(off.grads[n]));
    expect(on.losses.cam).toBe(off.losses.cam);
    tf.dispose(Object.values(P));
  });
});

describe('feature-map crops', () => {
  it('cut the S×S window of each row at its offset out of a [B, H, W, C] batch', () => {
    // B 2, H 3, W 4, C 2: value = 1000·b + 100·h + 10·w + c
    const shape = [2, 3, 4, 2];
    const at = (b: number, h: number, w: number, c: number) => ((b * 3 + h) * 4 + w) * 2 + c;
    const data = new Float32Array(48);
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 3; h++) for (let w = 0; w < 4; w++) for (let c = 0; c < 2; c++) data[at(b, h, w, c)] = 1000 * b + 100 * h + 10 * w + c;
    const { data: out, shape: outShape } = cropMaps(data, shape, 2, [
      [0, 2],
      [1, 0],
    ]);
    expect(outShape).toEqual([2, 2, 2, 2]);
    const want: number[] = [];
    for (const [b, top, left] of [
      [0, 0, 2],
      [1, 1, 0],
    ])
      for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) for (let c = 0; c < 2; c++) want.push(1000 * b + 100 * (top + h) + 10 * (left + w) + c);
    expect(Array.from(out)).toEqual(want);
  });

  it('cut masks [B, H, W] the same way, and refuse a window larger than the map', () => {
    const m = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const { data, shape } = cropMaps(m, [1, 3, 3], 2, [[1, 1]]);
    expect(shape).toEqual([1, 2, 2]);
    expect(Array.from(data)).toEqual([5, 6, 8, 9]);
    expect(() => cropMaps(m, [1, 3, 3], 4, [[0, 0]])).toThrow(/does not fit feature maps of 3×3/);
  });

  it('place the windows inside the map, the same for the same seed and step, others for another', () => {
    const a = cropOffsets(1, 5, 300, 7, 7, 5);
    expect(cropOffsets(1, 5, 300, 7, 7, 5)).toEqual(a);
    expect(cropOffsets(1, 6, 300, 7, 7, 5)).not.toEqual(a);
    expect(cropOffsets(2, 5, 300, 7, 7, 5)).not.toEqual(a);
    for (const [top, left] of a) {
      expect(top).toBeGreaterThanOrEqual(0);
      expect(top).toBeLessThanOrEqual(2);
      expect(left).toBeGreaterThanOrEqual(0);
      expect(left).toBeLessThanOrEqual(2);
    }
    // every corner position occurs
    expect(new Set(a.map(([t, l]) => `${t},${l}`)).size).toBe(9);
  });

  it('mirroring a map instead would change nothing: every loss and gradient of cam is the same', () => {
    // why there is no flip option: the heads see the spatial mean, and both Grad-CAMs mirror with the map
    const P = initParams('cam', dims, 5);
    const A = tf.randomUniform([2, 3, 4, 6], 0, 1, 'float32', 9) as tf.Tensor4D;
    const batch = { A, labels: tf.tensor1d([0, 2], 'int32'), captions: inputs().caps };
    const plain = algorithm1Grads(P, 'cam', batch);
    const mirrored = algorithm1Grads(P, 'cam', { ...batch, A: tf.reverse(A, 2) as tf.Tensor4D });
    for (const k of ['class', 'caption', 'cam'] as const) expect(mirrored.losses[k]).toBeCloseTo(plain.losses[k], 5);
    for (const n of Object.keys(plain.grads)) {
      const [x, y] = [plain.grads[n].dataSync(), mirrored.grads[n].dataSync()];
      x.forEach((v, i) => expect(y[i], n).toBeCloseTo(v, 5));
    }
    // …while a window of the map does change them
    const cut = algorithm1Grads(P, 'cam', { ...batch, A: A.slice([0, 0, 0, 0], [2, 2, 2, 6]) });
    expect(cut.losses.class).not.toBeCloseTo(plain.losses.class, 5);
    tf.dispose(Object.values(P));
  });
});

describe('mirrored photos (the coin and the masks; the maps: integration/train-mirrored.test.ts)', () => {
  it('mirror about half the rows, the same for the same seed and step, others for another', () => {
    const a = mirrorRows(1, 5, 400);
    expect(mirrorRows(1, 5, 400)).toEqual(a);
    expect(mirrorRows(1, 6, 400)).not.toEqual(a);
    expect(mirrorRows(2, 5, 400)).not.toEqual(a);
    const share = a.filter(Boolean).length / a.length;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
    // an independent stream from the crop windows'
    expect(cropOffsets(1, 5, 400, 2, 2, 1).map(([, l]) => l === 1)).not.toEqual(a);
  });

  it('mirror the marked masks [B, H, W] along W and leave the others', () => {
    const m = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    mirrorMasks(m, [2, 2, 3], [false, true]);
    expect(Array.from(m)).toEqual([1, 2, 3, 4, 5, 6, 9, 8, 7, 12, 11, 10]);
  });
});

describe('the run configuration', () => {
  it('has every lever off by default, so a run trains the contract objective', () => {
    expect(DEFAULT_CONFIG).toMatchObject({
      allCaptions: false,
      dropout: 0,
      classSmoothing: 0,
      classDropout: 0,
      captionSmoothing: 0,
      unlikelihood: 0,
      scheduledSampling: 0,
      loopUnlikelihood: 0,
      selfCritical: 0,
      weightDecay: 0,
      cropFeatures: 0,
      flipPhotos: false,
      averageWeights: 0,
      camTarget: 'both',
      classWeight: 1,
    });
    expect(regularisation({ ...DEFAULT_CONFIG, variant: 'cam' }, 7)).toBeUndefined();
  });

  it('seeds dropout by the run seed and the global step (a resumed run drops the same units)', () => {
    const cfg: TrainConfig = { ...DEFAULT_CONFIG, variant: 'cam', dropout: 0.3, captionSmoothing: 0.1 };
    const r = regularisation(cfg, 7)!;
    expect(r.captionSmoothing).toBe(0.1);
    expect(r.dropout!.rate).toBe(0.3);
    expect(regularisation(cfg, 7)!.dropout!.seed).toBe(r.dropout!.seed);
    expect(regularisation(cfg, 8)!.dropout!.seed).not.toBe(r.dropout!.seed);
    expect(regularisation({ ...cfg, seed: 2 }, 7)!.dropout!.seed).not.toBe(r.dropout!.seed);
    // the classifier's dropout: the same way, on a stream of its own
    const c = regularisation({ ...cfg, classDropout: 0.2 }, 7)!;
    expect(c.classDropout!.rate).toBe(0.2);
    expect(c.dropout).toEqual(r.dropout);
    expect(c.classDropout!.seed).not.toBe(r.dropout!.seed);
    expect(regularisation({ ...cfg, classDropout: 0.2 }, 8)!.classDropout!.seed).not.toBe(c.classDropout!.seed);
    expect(regularisation({ ...DEFAULT_CONFIG, variant: 'cnn', classDropout: 0.2 }, 7)!.classDropout!.rate).toBe(0.2);
    expect(r.classDropout).toBeUndefined();
  });

  it('cancel then resume with every lever on ends at the weights of an uninterrupted run', async () => {
    const cfg = {
      ...tinyRun,
      variant: 'medi' as const,
      allCaptions: true,
      dropout: 0.3,
      classSmoothing: 0.1,
      classDropout: 0.3,
      captionSmoothing: 0.1,
      scheduledSampling: 0.3,
      selfCritical: 1,
      selfCriticalSamples: 2,
      selfCriticalFrom: 0.5,
      weightDecay: 0.5,
      cropFeatures: 2,
      averageWeights: 0.9,
    };
    const [homeA, homeB] = [trainFixture(), trainFixture()];
    const a = await runTraining({ home: homeA, config: cfg });
    const b1 = await runTraining({ home: homeB, config: cfg, stopAfterSteps: 3 });
    expect(b1.status).toBe('cancelled');
    // self-critical training starts after the resume
    expect(Math.ceil(cfg.selfCriticalFrom * a.steps)).toBeGreaterThan(3);
    const b2 = await runTraining({ home: homeB, config: { variant: 'medi' }, resume: b1.run });
    expect(b2.steps).toBe(a.steps);
    const wa = readSafetensors(checkpointPaths(workspace(homeA), a.run).resumeWeights).tensors;
    const wb = readSafetensors(checkpointPaths(workspace(homeB), b1.run).resumeWeights).tensors;
    for (const n of Object.keys(wa)) expect(Array.from(wb[n].data), n).toEqual(Array.from(wa[n].data));
    // the levers did act: the same run without them ends elsewhere
    const homeC = trainFixture();
    const c = await runTraining({
      home: homeC,
      config: { ...cfg, dropout: 0, classSmoothing: 0, classDropout: 0, captionSmoothing: 0, scheduledSampling: 0, selfCritical: 0, weightDecay: 0, cropFeatures: 0 },
    });
    const wc = readSafetensors(checkpointPaths(workspace(homeC), c.run).resumeWeights).tensors;
    expect(Array.from(wc['cap.out.weight'].data)).not.toEqual(Array.from(wa['cap.out.weight'].data));
  });

  it('weight decay and feature-map crops each change the trained weights; off, a run is the plain one', async () => {
    const cfg = { ...tinyRun, variant: 'cnn' as const };
    const weights = async (extra: Partial<TrainConfig>) => {
      const home = trainFixture();
      const r = await runTraining({ home, config: { ...cfg, ...extra } });
      return Array.from(readSafetensors(checkpointPaths(workspace(home), r.run).resumeWeights).tensors['cls.weight'].data);
    };
    const plain = await weights({});
    expect(await weights({ weightDecay: 0, cropFeatures: 0 })).toEqual(plain);
    const decayed = await weights({ weightDecay: 1 });
    expect(decayed).not.toEqual(plain);
    // decay pulls the weights towards 0
    const norm = (w: number[]) => Math.hypot(...w);
    expect(norm(decayed)).toBeLessThan(norm(plain));
    expect(await weights({ cropFeatures: 2 })).not.toEqual(plain);
  });

  it('a running average of the weights (averageWeights d) is what the run validates and saves; training itself is unchanged', async () => {
    const cfg = { ...tinyRun, variant: 'medi' as const };
    const d = 0.5;
    // the weights trained after 0, 1 and 2 steps, and the checkpoint files of a run stopped after 2
    const after = async (steps: number, extra: Partial<TrainConfig> = {}) => {
      const home = trainFixture();
      const r = await runTraining({ home, config: { ...cfg, ...extra }, stopAfterSteps: steps });
      const p = checkpointPaths(workspace(home), r.run);
      return { resume: readSafetensors(p.resumeWeights).tensors, best: readSafetensors(p.weights).tensors };
    };
    const [w0, w1, w2] = await Promise.all([0, 1, 2].map(async (k) => (await after(k)).resume));
    const avg = await after(2, { averageWeights: d });
    for (const n of ['medi.weight', 'cls.bias', 'cap.out.weight']) {
      // the weights trained are the plain run's
      expect(Array.from(avg.resume[n].data), n).toEqual(Array.from(w2[n].data));
      const want = Array.from(w2[n].data, (x, i) => d * d * w0[n].data[i] + d * (1 - d) * w1[n].data[i] + (1 - d) * x);
      const kept = Array.from(avg.resume[`opt.average:${n}#0`].data);
      kept.forEach((x, i) => expect(x).toBeCloseTo(want[i], 5));
      // the model the run saved (cancelled before its first validation: the current model) is the average
      expect(Array.from(avg.best[n].data), n).toEqual(kept);
      expect(Array.from(avg.best[n].data), n).not.toEqual(Array.from(w2[n].data));
    }
    // a whole run: validated and saved as the average, so its model differs from the plain run's
    const plainHome = trainFixture();
    const avgHome = trainFixture();
    const plain = await runTraining({ home: plainHome, config: cfg });
    const averaged = await runTraining({ home: avgHome, config: { ...cfg, averageWeights: 0.9 } });
    const model = (home: string, run: string) => readSafetensors(checkpointPaths(workspace(home), run).weights).tensors['medi.weight'].data;
    expect(Array.from(model(avgHome, averaged.run))).not.toEqual(Array.from(model(plainHome, plain.run)));
    expect(averaged.steps).toBe(plain.steps);
  });

  it('one-sided L_cam (camTarget) and a weighted L_class reach the trainer, are recorded, and change what a cam run learns', async () => {
    const cfg = { ...tinyRun, variant: 'cam' as const, lambda: 1 };
    const trained = (extra: Partial<TrainConfig>) => trainRecorded({ ...cfg, ...extra });
    const plain = await trained({});
    expect(await trained({ camTarget: 'both', classWeight: 1 })).toEqual(plain);
    const held = await trained({ camTarget: 'class' });
    expect(held.stored.camTarget).toBe('class');
    expect(held.medi).not.toEqual(plain.medi);
    const heavy = await trained({ classWeight: 2 });
    expect(heavy.stored.classWeight).toBe(2);
    expect(heavy.cls).not.toEqual(plain.cls);
  });

  it("the classifier's dropout and rate scale reach the trainer, are recorded, and change what a run learns; off is the plain run", async () => {
    const cfg = { ...tinyRun, variant: 'medi' as const };
    const trained = (extra: Partial<TrainConfig>) => trainRecorded({ ...cfg, ...extra });
    const plain = await trained({});
    expect((await trained({ classDropout: 0, classLrScale: 1 })).cls).toEqual(plain.cls);
    const dropped = await trained({ classDropout: 0.5 });
    expect(dropped.stored.classDropout).toBe(0.5);
    expect(dropped.cls).not.toEqual(plain.cls);
    expect(dropped.steps).toBe(plain.steps);
    const slow = await trained({ classLrScale: 0.1 });
    expect(slow.stored.classLrScale).toBe(0.1);
    expect(slow.cls).not.toEqual(plain.cls);
  });
});
