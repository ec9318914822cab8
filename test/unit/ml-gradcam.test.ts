/**
 * Grad-CAM pieces used by the app: alphas are ∂score/∂v (checked by finite differences of the
 * score), per-word CAMs add up (in alpha) to the caption's CAM, and camsFor's maps agree with
 * relu(Σ_k alpha_k A_k).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/ml/backend.ts';
import { camMap, camsFor, gradCamAlphas, wordCam } from '../../src-main/ml/gradcam.ts';
import {
  BOS,
  EOS,
  PAD,
  type ModelDims,
  capPrep,
  captionScores,
  classScores,
  feature,
  initParams,
  pooled,
  rng,
} from '../../src-main/ml/model.ts';

const dims: ModelDims = { K: 5, D: 6, E: 4, Hd: 5, V: 9, C: 3 };
const B = 2;

beforeAll(async () => {
  await initBackend();
});

function inputs(seed: number) {
  const r = rng(seed);
  const A = tf.tensor4d(
    Float32Array.from({ length: B * 2 * 3 * dims.K }, () => r()),
    [B, 2, 3, dims.K],
  );
  const captions = tf.tensor2d(
    [
      [BOS, 4, 7, EOS, PAD],
      [BOS, 5, EOS, PAD, PAD],
    ],
    [B, 5],
    'int32',
  );
  return { A, captions, labels: tf.tensor1d([1, 2], 'int32') };
}

describe('Grad-CAM', () => {
  it('alphas are the gradient of the per-image score w.r.t. v (finite differences)', () => {
    const P = initParams('cam', dims, 4);
    const { A, captions, labels } = inputs(1);
    const v = pooled(A);
    const [aCls, aCap] = gradCamAlphas(P, P, 'cam', v, [
      { kind: 'cls', classes: labels },
      { kind: 'cap', captions },
    ]);
    const score = (vv: tf.Tensor) =>
      tf.tidy(() => {
        const f = feature(P, 'cam', vv);
        return [classScores(P, f, labels).arraySync(), captionScores(capPrep(P), f, captions).arraySync()];
      });
    const base = v.arraySync();
    const h = 1e-2;
    for (const [b, k] of [
      [0, 0],
      [1, 3],
      [0, 4],
    ]) {
      const at = (d: number) => {
        const x = base.map((row) => row.slice());
        x[b][k] += d;
        return score(tf.tensor2d(x));
      };
      const [p, m] = [at(h), at(-h)];
      const fdCls = (p[0][b] - m[0][b]) / (2 * h);
      const fdCap = (p[1][b] - m[1][b]) / (2 * h);
      expect(Math.abs(fdCls - aCls.arraySync()[b][k])).toBeLessThan(2e-3);
      expect(Math.abs(fdCap - aCap.arraySync()[b][k])).toBeLessThan(5e-3);
    }
  });

  it('per-word alphas sum to the caption alpha, and wordCam is the CAM of one word', () => {
    const P = initParams('lrcn', dims, 6);
    const { A, captions } = inputs(2);
    const v = pooled(A);
    const [full] = gradCamAlphas(P, P, 'lrcn', v, [{ kind: 'cap', captions }]);
    const words = [1, 2, 3, 4].map((pos) => {
      const w = tf.oneHot(tf.fill([B], pos - 1, 'int32'), 4).toFloat() as tf.Tensor2D;
      return gradCamAlphas(P, P, 'lrcn', v, [{ kind: 'cap', captions, weights: w }])[0];
    });
    const sum = tf.addN(words).arraySync();
    full.arraySync().forEach((row, b) => row.forEach((x, k) => expect(sum[b][k]).toBeCloseTo(x, 5)));
    const cam2 = wordCam(P, 'lrcn', A, captions, 2).arraySync();
    const want = camMap(A, words[1]).arraySync();
    expect(cam2).toEqual(want);
    expect(() => wordCam(P, 'lrcn', A, captions, 0)).toThrow();
  });

  it('camsFor returns the four maps, predictions and agreement for the full model', () => {
    const P = initParams('cam', dims, 8);
    const { A, captions, labels } = inputs(3);
    const c = camsFor(P, 'cam', A, labels, captions);
    for (const k of ['cam_cls_pred', 'cam_cls_gt', 'cam_cap_gt', 'cam_cap_pred'] as const)
      expect(c[k]!.shape).toEqual([B, 2, 3]);
    expect(c.pred_captions!.shape).toEqual([B, 5]);
    const agree = c.cam_agreement!.arraySync();
    agree.forEach((x) => expect(x).toBeGreaterThanOrEqual(0)); // relu'd maps: cosine in [0,1]
    const cnn = camsFor(initParams('cnn', dims, 1), 'cnn', A, labels, null);
    expect(cnn.cam_cap_gt).toBeUndefined();
    expect(cnn.cam_cls_pred!.shape).toEqual([B, 2, 3]);
  });

  it('training steps, CAMs and beam search do not leak tensors', async () => {
    const { algorithm1Grads } = await import('../../src-main/ml/algorithm1.ts');
    const { beamSearch } = await import('../../src-main/ml/decode.ts');
    const P = initParams('cam', dims, 2);
    const { A, captions, labels } = inputs(4);
    const once = () => {
      const r = algorithm1Grads(P, 'cam', { A, labels, captions }, { lambda: 1 });
      Object.values(r.grads).forEach((g) => g.dispose());
      r.classPred?.dispose();
      r.predCaptions?.dispose();
      const c = camsFor(P, 'cam', A, labels, captions);
      Object.values(c).forEach((t) => (t as tf.Tensor).dispose());
      tf.tidy(() => {
        beamSearch(P, feature(P, 'cam', pooled(A)), 5, 2);
      });
      wordCam(P, 'cam', A, captions, 1).dispose();
    };
    once();
    const before = tf.memory().numTensors;
    once();
    once();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('parameters leave nothing behind once disposed (no stray initial-value tensors)', () => {
    const before = tf.memory().numTensors;
    const P = initParams('cam', dims, 5);
    expect(tf.memory().numTensors - before).toBe(Object.keys(P).length);
    Object.values(P).forEach((p) => p.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });
});
