/**
 * Optimisers (optim.ts) against hand-computed updates, state save/restore, and a tiny end-to-end
 * check that Algorithm-1 steps with SGD lower the losses of every variant.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/ml/backend.ts';
import { algorithm1Grads, algorithm1Losses } from '../../src-main/ml/algorithm1.ts';
import { BOS, EOS, PAD, type Params, type Variant, initParams, rng } from '../../src-main/ml/model.ts';
import {
  applyGrads,
  createOptimState,
  optimStateFromTensors,
  optimStateTensors,
} from '../../src-main/ml/optim.ts';

beforeAll(async () => {
  await initBackend();
});

const params = (): Params => ({ w: tf.variable(tf.tensor1d([1, -2, 0.5])) });
const g = () => ({ w: tf.tensor1d([0.5, -1, 2]) });
const vals = (p: Params) => Array.from(p.w.dataSync());

describe('optimisers', () => {
  it('sgd: p ← p − lr·g', () => {
    const p = params();
    applyGrads(p, g(), { kind: 'sgd', lr: 0.1 }, createOptimState());
    vals(p).forEach((x, i) => expect(x).toBeCloseTo([0.95, -1.9, 0.3][i], 6));
  });

  it('momentum: buffer b ← μ·b + g, p ← p − lr·b (two steps)', () => {
    const p = params();
    const s = createOptimState();
    applyGrads(p, g(), { kind: 'momentum', lr: 0.1, momentum: 0.9 }, s);
    applyGrads(p, g(), { kind: 'momentum', lr: 0.1, momentum: 0.9 }, s);
    // after two equal gradients: p − lr·g − lr·(1.9 g)
    vals(p).forEach((x, i) => expect(x).toBeCloseTo([1, -2, 0.5][i] - 0.29 * [0.5, -1, 2][i], 6));
  });

  it('adam: the bias-corrected first step is lr·g/(|g|+ε), and the state round-trips', () => {
    const p = params();
    const s = createOptimState();
    applyGrads(p, g(), { kind: 'adam', lr: 0.01 }, s);
    vals(p).forEach((x, i) => expect(x).toBeCloseTo([1, -2, 0.5][i] - 0.01 * Math.sign([0.5, -1, 2][i]), 6));
    const restored = optimStateFromTensors(optimStateTensors(s));
    const q = params();
    q.w.assign(p.w);
    applyGrads(p, g(), { kind: 'adam', lr: 0.01 }, s);
    applyGrads(q, g(), { kind: 'adam', lr: 0.01 }, restored);
    expect(vals(q)).toEqual(vals(p));
  });
});

describe('decoupled weight decay', () => {
  // a weight matrix (decayed) and a bias (never decayed)
  const twoParams = (): Params => ({
    'm.weight': tf.variable(tf.tensor2d([1, -2, 0.5, 4], [2, 2])),
    'm.bias': tf.variable(tf.tensor1d([1, -2])),
  });
  const twoGrads = () => ({ 'm.weight': tf.tensor2d([0.5, -1, 2, 0], [2, 2]), 'm.bias': tf.tensor1d([0.5, -1]) });
  const at = (p: Params, n: string) => Array.from(p[n].dataSync());

  it('sgd: a matrix becomes p·(1 − lr·wd) − lr·g, a bias p − lr·g', () => {
    const p = twoParams();
    applyGrads(p, twoGrads(), { kind: 'sgd', lr: 0.1, weightDecay: 0.5 }, createOptimState());
    const w = [1, -2, 0.5, 4].map((x, i) => x * (1 - 0.05) - 0.1 * [0.5, -1, 2, 0][i]);
    at(p, 'm.weight').forEach((x, i) => expect(x).toBeCloseTo(w[i], 6));
    at(p, 'm.bias').forEach((x, i) => expect(x).toBeCloseTo([0.95, -1.9][i], 6));
  });

  it('adam: the decay is outside the adaptive step (AdamW), and wd = 0 is plain Adam', () => {
    const p = twoParams();
    applyGrads(p, twoGrads(), { kind: 'adam', lr: 0.01, weightDecay: 2 }, createOptimState());
    // first Adam step lr·g/(|g|+ε) (0 where g = 0) after the shrink by 1 − 0.02
    const w = [1, -2, 0.5, 4].map((x, i) => x * 0.98 - 0.01 * Math.sign([0.5, -1, 2, 0][i]));
    at(p, 'm.weight').forEach((x, i) => expect(x).toBeCloseTo(w[i], 6));
    at(p, 'm.bias').forEach((x, i) => expect(x).toBeCloseTo([1 - 0.01, -2 + 0.01][i], 6));
    const plain = twoParams();
    const zero = twoParams();
    applyGrads(plain, twoGrads(), { kind: 'adam', lr: 0.01 }, createOptimState());
    applyGrads(zero, twoGrads(), { kind: 'adam', lr: 0.01, weightDecay: 0 }, createOptimState());
    for (const n of ['m.weight', 'm.bias']) expect(at(zero, n)).toEqual(at(plain, n));
  });

  it('leaves parameters without a gradient alone', () => {
    const p = twoParams();
    applyGrads(p, { 'm.bias': tf.tensor1d([0, 0]) }, { kind: 'sgd', lr: 0.1, weightDecay: 1 }, createOptimState());
    expect(at(p, 'm.weight')).toEqual([1, -2, 0.5, 4]);
  });
});

describe('rate multipliers per module (lrScale)', () => {
  const params = (): Params => ({
    'cls.weight': tf.variable(tf.tensor2d([1, -2, 0.5, 4], [2, 2])),
    'medi.weight': tf.variable(tf.tensor2d([1, -2, 0.5, 4], [2, 2])),
  });
  const grads = () => ({ 'cls.weight': tf.tensor2d([0.5, -1, 2, 0], [2, 2]), 'medi.weight': tf.tensor2d([0.5, -1, 2, 0], [2, 2]) });
  const at = (p: Params, n: string) => Array.from(p[n].dataSync());

  it("sgd: the scaled module steps lr·s·g (its decay 1 − lr·s·wd), the others lr·g; 1 is no scale", () => {
    const p = params();
    applyGrads(p, grads(), { kind: 'sgd', lr: 0.1, weightDecay: 0.5, lrScale: { cls: 0.2 } }, createOptimState());
    const g = [0.5, -1, 2, 0];
    at(p, 'cls.weight').forEach((x, i) => expect(x).toBeCloseTo([1, -2, 0.5, 4][i] * (1 - 0.01) - 0.02 * g[i], 6));
    at(p, 'medi.weight').forEach((x, i) => expect(x).toBeCloseTo([1, -2, 0.5, 4][i] * (1 - 0.05) - 0.1 * g[i], 6));
    const one = params();
    const plain = params();
    applyGrads(one, grads(), { kind: 'adam', lr: 0.01, lrScale: { cls: 1 } }, createOptimState());
    applyGrads(plain, grads(), { kind: 'adam', lr: 0.01 }, createOptimState());
    for (const n of ['cls.weight', 'medi.weight']) expect(at(one, n)).toEqual(at(plain, n));
  });

  it('adam: the first step of the scaled module is lr·s·g/(|g|+ε), its moments those of plain Adam', () => {
    const p = params();
    const state = createOptimState();
    applyGrads(p, grads(), { kind: 'adam', lr: 0.01, lrScale: { cls: 0.1 } }, state);
    const g = [0.5, -1, 2, 0];
    at(p, 'cls.weight').forEach((x, i) => expect(x).toBeCloseTo([1, -2, 0.5, 4][i] - 0.001 * Math.sign(g[i]), 6));
    at(p, 'medi.weight').forEach((x, i) => expect(x).toBeCloseTo([1, -2, 0.5, 4][i] - 0.01 * Math.sign(g[i]), 6));
    const plain = createOptimState();
    applyGrads(params(), grads(), { kind: 'adam', lr: 0.01 }, plain);
    for (const k of [0, 1]) expect(Array.from(state.slots['cls.weight'][k].dataSync())).toEqual(Array.from(plain.slots['cls.weight'][k].dataSync()));
  });
});

describe('training lowers the losses', () => {
  it.each(['cnn', 'lrcn', 'medi', 'cam'] as Variant[])(
    '%s: 25 SGD steps on a tiny fixed batch',
    (variant) => {
      const dims = { K: 6, D: 8, E: 5, Hd: 8, V: 10, C: 3 };
      const P = initParams(variant, dims, 1);
      const r = rng(2);
      const B = 6;
      const T = 5;
      // informative features: channel `label` is raised for its images (a separable toy task)
      const data = Float32Array.from({ length: B * 2 * 2 * dims.K }, () => r());
      for (let b = 0; b < B; b++) for (let p = 0; p < 4; p++) data[(b * 4 + p) * dims.K + (b % 3)] += 2;
      const A = tf.tensor4d(data, [B, 2, 2, dims.K]);
      const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
      const captions = tf.tensor2d(
        Array.from({ length: B }, (_, b) => [BOS, 4 + (b % 3), 7 + (b % 3), EOS, PAD]),
        [B, T],
        'int32',
      );
      const batch = { A, labels, captions };
      const before = algorithm1Losses(P, variant, batch, {});
      const state = createOptimState();
      for (let i = 0; i < 25; i++) {
        const res = algorithm1Grads(P, variant, batch, {});
        applyGrads(P, res.grads, { kind: 'sgd', lr: 0.5 }, state);
        Object.values(res.grads).forEach((t) => t.dispose());
        res.classPred?.dispose();
        res.predCaptions?.dispose();
      }
      const after = algorithm1Losses(P, variant, batch, {});
      if (variant !== 'lrcn') expect(after.class).toBeLessThan(0.8 * before.class);
      if (variant !== 'cnn') expect(after.caption).toBeLessThan(0.8 * before.caption);
    },
  );
});
