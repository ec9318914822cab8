/**
 * The one-layer LSTM with a hand-written backward pass (lstm.ts) against the step-by-step
 * autodiff layer of model.ts: same states, same first-order gradients w.r.t. the gate inputs and
 * the recurrent weight, and a caption loss (which uses it) whose gradients match the step-by-step
 * version's. Finite differences of the whole Algorithm-1 gradient are in ml-gradcheck.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/ml/backend.ts';
import { lstmLayer } from '../../src-main/ml/lstm.ts';
import { mmOperand } from '../../src-main/ml/ops.ts';
import {
  BOS,
  EOS,
  PAD,
  type CapPrep,
  capPrep,
  initParams,
  lstmStep,
  rng,
  teacherForced,
  tokenLogprobs,
  useFusedLstm,
} from '../../src-main/ml/model.ts';

beforeAll(async () => {
  await initBackend();
});
afterAll(() => useFusedLstm(undefined));

const B = 3;
const T = 5;
const Hd = 4;

function uniform(seed: number, shape: number[], scale = 1) {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale),
    shape,
  );
}

/** The reference: autodiff through lstmStep, one step at a time. */
function stepwise(xg: tf.Tensor3D, Whh: tf.Tensor2D): tf.Tensor3D {
  const cp = { Whh, WhhT: mmOperand(Whh) } as unknown as CapPrep;
  let s: tf.Tensor | null = null;
  let c: tf.Tensor | null = null;
  const out: tf.Tensor[] = [];
  for (const xt of tf.unstack(xg, 1)) {
    ({ s, c } = lstmStep(cp, xt, s, c));
    out.push(s);
  }
  return tf.stack(out, 1) as tf.Tensor3D;
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
const maxAbs = (a: tf.Tensor) => tf.max(tf.abs(a)).dataSync()[0];

describe('lstmLayer (hand-written BPTT)', () => {
  it('gives the step-by-step states and gradients', () => {
    const xg = uniform(1, [B, T, 4 * Hd], 2) as tf.Tensor3D;
    const Whh = uniform(2, [4 * Hd, Hd]) as tf.Tensor2D;
    // a non-uniform upstream gradient so every step and unit is weighted differently
    const wOut = uniform(3, [B, T, Hd]);
    const loss = (f: typeof stepwise) => (x: tf.Tensor, W: tf.Tensor) =>
      tf.sum(tf.mul(f(x as tf.Tensor3D, W as tf.Tensor2D), wOut)) as tf.Scalar;
    expect(maxDiff(lstmLayer(xg, Whh), stepwise(xg, Whh))).toBeLessThan(1e-6);
    const [gx, gW] = tf.grads(loss(lstmLayer))([xg, Whh]);
    const [rx, rW] = tf.grads(loss(stepwise))([xg, Whh]);
    expect(maxAbs(rx)).toBeGreaterThan(1e-2);
    expect(maxAbs(rW)).toBeGreaterThan(1e-2);
    expect(maxDiff(gx, rx)).toBeLessThan(1e-5 * maxAbs(rx) + 1e-7);
    expect(maxDiff(gW, rW)).toBeLessThan(1e-5 * maxAbs(rW) + 1e-7);
  });

  it('gives the step-by-step second-order gradients (a gradient of its gradient)', () => {
    const xg = uniform(11, [B, T, 4 * Hd], 2) as tf.Tensor3D;
    const Whh = uniform(12, [4 * Hd, Hd]) as tf.Tensor2D;
    const wOut = uniform(13, [B, T, Hd]);
    const rX = uniform(14, [B, T, 4 * Hd]);
    const rW = uniform(15, [4 * Hd, Hd]);
    // the inner upstream gradient depends on the states (as a caption score's does), so the
    // outer gradient runs through the BPTT's upstream, its activations and its weight
    const inner = (f: typeof stepwise) => (x: tf.Tensor, W: tf.Tensor) => {
      const S = f(x as tf.Tensor3D, W as tf.Tensor2D);
      return tf.sum(tf.mul(tf.mul(S, S), wOut)) as tf.Scalar;
    };
    const outer = (f: typeof stepwise) => (x: tf.Tensor, W: tf.Tensor) => {
      const [gx, gW] = tf.grads(inner(f))([x, W]);
      return tf.add(tf.sum(tf.mul(gx, rX)), tf.sum(tf.mul(gW, rW))) as tf.Scalar;
    };
    const [hx, hW] = tf.grads(outer(lstmLayer))([xg, Whh]);
    const [sx, sW] = tf.grads(outer(stepwise))([xg, Whh]);
    expect(maxAbs(sx)).toBeGreaterThan(1e-2);
    expect(maxAbs(sW)).toBeGreaterThan(1e-2);
    expect(maxDiff(hx, sx)).toBeLessThan(1e-5 * maxAbs(sx) + 1e-7);
    expect(maxDiff(hW, sW)).toBeLessThan(1e-5 * maxAbs(sW) + 1e-7);
  });

  it('teacher forcing with the fused layer matches the step-by-step one, value and gradients', () => {
    const P = initParams('lrcn', { K: 5, D: 0, E: 3, Hd, V: 9, C: 0 }, 3);
    const feat = uniform(6, [B, 5]);
    const caps = tf.tensor2d(
      [
        [BOS, 4, 7, EOS, PAD],
        [BOS, 5, EOS, PAD, PAD],
        [BOS, 8, 6, 5, EOS],
      ],
      [B, T],
      'int32',
    );
    const names = Object.keys(P);
    const loss = (fused: boolean) => () => {
      useFusedLstm(fused);
      const { tok, mask } = tokenLogprobs(teacherForced(capPrep(P), feat, caps, undefined, true), caps);
      return tf.sum(tf.mul(tok, mask)) as tf.Scalar;
    };
    const fused = tf.variableGrads(
      loss(true),
      names.map((n) => P[n]),
    );
    const ref = tf.variableGrads(
      loss(false),
      names.map((n) => P[n]),
    );
    expect(Math.abs(fused.value.dataSync()[0] - ref.value.dataSync()[0])).toBeLessThan(1e-5);
    for (const n of names) {
      const g = fused.grads[P[n].name];
      const r = ref.grads[P[n].name];
      expect(maxDiff(g, r), n).toBeLessThan(1e-5 * maxAbs(r) + 1e-7);
    }
  });
});
