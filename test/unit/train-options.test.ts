/**
 * Training options: the λ schedule of L_cam (0 during the warm-up, a linear rise over the ramp,
 * then λ) and model selection by validation caption loss or CIDEr-D of either decoding.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Example } from '../../src-main/jobs/train/dataset.ts';
import { decodeCaption } from '../../src-main/jobs/train/dataset.ts';
import { lambdaAt } from '../../src-main/jobs/train/lambda-schedule.ts';
import { evaluateSplit, selectionScore } from '../../src-main/jobs/train/validation.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import { productDecode } from '../../src-main/ml/decode.ts';
import type { FeatureCache } from '../../src-main/ml/feature-cache.ts';
import { feature, greedyDecode, initParams, pooled, type ModelDims } from '../../src-main/ml/model.ts';
import { scoreCaptions } from '../../src-main/ml/metrics/index.ts';

beforeAll(async () => {
  process.env.PLUMAGE_BACKEND = process.env.PLUMAGE_BACKEND || 'wasm';
  await initBackend();
});

describe('λ schedule', () => {
  it('is λ from the first step without warm-up or ramp (the paper, and runs recorded before the schedule)', () => {
    expect(lambdaAt({ lambda: 0.7, lambdaWarmup: 0, lambdaRamp: 0 }, 0, 10)).toBe(0.7);
    expect(lambdaAt({ lambda: 0.7 }, 0, 10)).toBe(0.7);
  });

  it('is 0 during the warm-up, rises linearly over the ramp and stays at λ', () => {
    const s = { lambda: 1, lambdaWarmup: 2, lambdaRamp: 4 };
    // 10 steps per epoch
    expect(lambdaAt(s, 0, 10)).toBe(0);
    expect(lambdaAt(s, 19, 10)).toBe(0);
    expect(lambdaAt(s, 20, 10)).toBe(0);
    expect(lambdaAt(s, 30, 10)).toBeCloseTo(0.25, 12);
    expect(lambdaAt(s, 50, 10)).toBeCloseTo(0.75, 12);
    expect(lambdaAt(s, 60, 10)).toBe(1);
    expect(lambdaAt(s, 600, 10)).toBe(1);
  });
});

describe('model selection score', () => {
  const V = Math.E ** 2; // ln V = 2
  it('by loss: top-1 − caption loss / ln V, whatever CIDEr says', () => {
    expect(selectionScore({ top1: 0.8, top5: 1, captionLoss: 1, cider: 0.3 }, V)).toBeCloseTo(0.3, 12);
    expect(selectionScore({ top1: 0.8, top5: 1, captionLoss: 1, cider: 0.3 }, V, 'loss')).toBeCloseTo(0.3, 12);
  });

  it('by CIDEr: top-1 + CIDEr-D, and prefers the epoch with better captions even at a lower loss', () => {
    const fluent = { top1: 0.8, top5: 1, captionLoss: 1.2, cider: 0.3 };
    const looping = { top1: 0.8, top5: 1, captionLoss: 1.0, cider: 0.05 };
    expect(selectionScore(fluent, V, 'cider')).toBeCloseTo(1.1, 12);
    expect(selectionScore(fluent, V, 'cider')).toBeGreaterThan(selectionScore(looping, V, 'cider'));
    expect(selectionScore(fluent, V, 'loss')).toBeLessThan(selectionScore(looping, V, 'loss'));
    // lrcn has no top-1; without a CIDEr value it falls back to the loss
    expect(selectionScore({ top1: null, top5: null, captionLoss: 2, cider: 0.2 }, V, 'cider')).toBeCloseTo(0.2, 12);
    expect(selectionScore({ top1: null, top5: null, captionLoss: 2 }, V, 'cider')).toBeCloseTo(-1, 12);
  });
});

describe('validation CIDEr-D for model selection', () => {
  const dims: ModelDims = { K: 6, D: 5, E: 4, Hd: 5, V: 9, C: 3 };
  const words = ['<pad>', '<bos>', '<eos>', '<unk>', 'red', 'bird', 'small', 'wings', 'a'];
  const index = new Map(words.map((w, i) => [w, i]));
  const T = 7;
  // six photos with 2×2 feature maps, each a pseudo-random but fixed pattern
  const maps = Float32Array.from({ length: 6 * 2 * 2 * dims.K }, (_, i) => Math.sin(i * 1.7) * 2);
  const data: Example[] = Array.from({ length: 6 }, (_, i) => ({
    imageId: i,
    hash: `h${i}`,
    label: i % 3,
    captions: [['a red bird', 'small red wings'], ['a small bird'], ['red wings']][i % 3],
  }));
  const cache = {
    getBatch: (hashes: string[]) => {
      const per = 2 * 2 * dims.K;
      const out = new Float32Array(hashes.length * per);
      hashes.forEach((h, j) => out.set(maps.subarray(Number(h.slice(1)) * per, (Number(h.slice(1)) + 1) * per), j * per));
      return { data: out, shape: [hashes.length, 2, 2, dims.K] as [number, number, number, number] };
    },
  } as unknown as FeatureCache;

  /** CIDEr-D of the captions a decoder writes for the six photos, scored as validation scores them. */
  function ciderOf(decode: (feat: tf.Tensor2D) => tf.Tensor2D, P: ReturnType<typeof initParams>): number {
    const { data: A, shape } = cache.getBatch(data.map((e) => e.hash));
    const ids = tf.tidy(() => decode(feature(P, 'medi', pooled(tf.tensor4d(A, shape))) as tf.Tensor2D).arraySync() as number[][]);
    const refs = Object.fromEntries(data.map((e, i) => [String(i), e.captions]));
    const cands = Object.fromEntries(data.map((_, i) => [String(i), decodeCaption(ids[i], words)]));
    return scoreCaptions(refs, cands, { meteor: false }).cider;
  }

  it("scores the greedy captions for 'greedy' and the product decoding's for 'product'; top-1 and loss are the same either way", () => {
    const P = initParams('medi', dims, 5);
    const greedy = evaluateSplit(P, 'medi', data, cache, index, T, 4, 'greedy');
    const product = evaluateSplit(P, 'medi', data, cache, index, T, 4, 'product');
    const none = evaluateSplit(P, 'medi', data, cache, index, T, 4, null);
    expect(greedy.cider).toBeCloseTo(ciderOf((f) => greedyDecode(P, f, T), P), 12);
    expect(product.cider).toBeCloseTo(ciderOf((f) => productDecode(P, f, T), P), 12);
    // an untrained captioner repeats itself, which the product decoding blocks: the two differ
    expect(product.cider).not.toBeCloseTo(greedy.cider!, 6);
    expect(none.cider).toBeUndefined();
    expect([product.top1, product.captionLoss]).toEqual([greedy.top1, greedy.captionLoss]);
    tf.dispose(Object.values(P));
  });

  it("selects by top-1 + that CIDEr-D for 'product' as for 'cider'", () => {
    const r = { top1: 0.8, top5: 1, captionLoss: 1.2, cider: 0.3 };
    expect(selectionScore(r, 9, 'product')).toBeCloseTo(1.1, 12);
    expect(selectionScore({ ...r, cider: undefined }, 9, 'product')).toBe(selectionScore(r, 9, 'loss'));
  });
});
