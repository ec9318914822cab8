/**
 * Finite-difference checks of every gradient the model trains with (Algorithm 1), for every
 * variant, on tiny dimensions: ∇L_class (cls.*), ∇L_caption (cap.*), ∇(L_class + L_caption +
 * λ·L_cam) (medi.*), and the second-order ∇L_cam and ∇L_mask w.r.t. medi.* on their own.
 *
 * TF.js is float32, so central differences f(x±h) carry a rounding error of about
 * ε32·|f|/h ≈ 6e-8·1/1e-2 ≈ 1e-5 and a truncation error O(h²); the seeded instance has no ReLU
 * pre-activation within a step of a kink. We compare at the coordinates with the largest
 * gradients plus random ones, with an error relative to the parameter's largest |gradient|.
 * Observed errors are ≤ 1.5e-3 (the LSTM weights, truncation error of h = 1e-2; GC_DEBUG=1 prints
 * them); TOL = 1e-2 leaves ~7x headroom, while a gradient that is off by 10% where it matters
 * (checked with 1.1·g, error ≈ 0.1) fails.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/ml/backend.ts';
import {
  algorithm1Grads,
  algorithm1Losses,
  type Batch,
  type StepOptions,
} from '../../src-main/ml/algorithm1.ts';
import { gradCamAlphas } from '../../src-main/ml/gradcam.ts';
import {
  capPrep,
  captionLoss,
  classLoss,
  classify,
  feature,
  greedyDecode,
  hasMedi,
  medi,
  pooled,
} from '../../src-main/ml/model.ts';
import {
  BOS,
  EOS,
  FIRST_WORD,
  PAD,
  type ModelDims,
  type Params,
  type Variant,
  initParams,
  rng,
} from '../../src-main/ml/model.ts';

const TOL = 1e-2;
const H = 1e-2;
const dims: ModelDims = { K: 6, D: 8, E: 5, Hd: 7, V: 11, C: 4 };
const B = 3;
const T = 6;
const HW = 3;

function makeBatch(seed: number, withMasks = false): Batch {
  const r = rng(seed);
  const A = tf.tensor4d(
    Float32Array.from({ length: B * HW * HW * dims.K }, () => r()),
    [B, HW, HW, dims.K],
  );
  const labels = tf.tensor1d([0, 2, 3], 'int32');
  const caps = new Int32Array(B * T).fill(PAD);
  for (let b = 0; b < B; b++) {
    const n = 1 + (b % (T - 2)); // 1..T-2 words: exercises EOS then PAD
    caps[b * T] = BOS;
    for (let i = 1; i <= n; i++) caps[b * T + i] = FIRST_WORD + Math.floor(r() * (dims.V - FIRST_WORD));
    caps[b * T + n + 1] = EOS;
  }
  const batch: Batch = { A, labels, captions: tf.tensor2d(caps, [B, T], 'int32') };
  if (withMasks) {
    batch.masks = tf.tensor3d(
      Float32Array.from({ length: B * HW * HW }, () => (r() > 0.5 ? 1 : 0)),
      [B, HW, HW],
    );
    batch.maskRows = tf.tensor1d([1, 0, 1]);
  }
  return batch;
}

/**
 * Like the PyTorch reference's seed search: a finite difference is only meaningful away from the
 * kinks of the ReLUs (f_medi and the CAMs), so use the first seed whose instance keeps every
 * pre-activation at least 3 steps away from zero and has no all-zero CAM.
 */
function wellConditioned(variant: Variant, start: number, withMasks = false) {
  for (let seed = start; seed < start + 200; seed++) {
    const P = initParams(variant, dims, seed);
    const batch = makeBatch(seed + 1000, withMasks);
    const ok = tf.tidy(() => {
      const v = pooled(batch.A!);
      const feat = medi(P, v).h;
      const first = {
        classPred: tf.argMax(classify(P, feat), 1).toInt() as tf.Tensor1D,
        predCaptions: greedyDecode(P, feat, T),
      };
      const minPre = tf.min(tf.abs(medi(P, v).pre)).dataSync()[0];
      const reqs = [
        { kind: 'cls' as const, classes: batch.labels },
        { kind: 'cap' as const, captions: batch.captions },
        { kind: 'cls' as const, classes: first.classPred! },
        { kind: 'cap' as const, captions: first.predCaptions! },
      ];
      const alphas = gradCamAlphas(P, P, variant, v, reqs);
      let minCam = Infinity;
      let minMax = Infinity;
      for (const a of alphas) {
        const raw = tf.sum(tf.mul(batch.A!, a.reshape([B, 1, 1, dims.K])), 3).reshape([B, -1]);
        const rel = tf
          .div(tf.abs(raw), tf.max(tf.abs(a), 1, true))
          .min()
          .dataSync()[0];
        minCam = Math.min(minCam, rel);
        minMax = Math.min(minMax, tf.min(tf.max(raw, 1)).dataSync()[0]);
      }
      if (process.env.GC_DEBUG) console.log(seed, minPre, minCam, minMax);
      return minPre > 3 * H && minCam > 3 * H && minMax > -Infinity;
    });
    if (ok) return { P, batch, seed };
    Object.values(P).forEach((p) => p.dispose());
  }
  throw new Error('no well-conditioned instance found');
}

type Pick = 'class' | 'caption' | 'total';
const objectiveFor = (name: string): Pick =>
  name.startsWith('cls.') ? 'class' : name.startsWith('cap.') ? 'caption' : 'total';

/** Max over sampled coordinates of |fd − g| / max|g|, for `g` and for a deliberately wrong 1.1·g. */
function check(P: Params, name: string, g: tf.Tensor, f: () => number, seed: number) {
  const gv = g.dataSync() as Float32Array;
  const scale = Math.max(...Array.from(gv, Math.abs));
  const order = Array.from(gv.keys()).sort((a, b) => Math.abs(gv[b]) - Math.abs(gv[a]));
  const r = rng(seed);
  const coords = new Set([order[0], order[1] ?? order[0]]);
  while (coords.size < Math.min(5, gv.length)) coords.add(Math.floor(r() * gv.length));
  const p = P[name];
  const base = p.dataSync().slice() as Float32Array;
  let err = 0;
  let errWrong = 0;
  const rows: string[] = [];
  for (const i of coords) {
    const at = (d: number) => {
      const x = base.slice();
      x[i] += d;
      p.assign(tf.tensor(x, p.shape));
      return f();
    };
    const fd = (at(H) - at(-H)) / (2 * H);
    err = Math.max(err, Math.abs(fd - gv[i]) / scale);
    errWrong = Math.max(errWrong, Math.abs(fd - 1.1 * gv[i]) / scale);
    rows.push(`${name}[${i}] fd=${fd.toExponential(4)} g=${gv[i].toExponential(4)}`);
  }
  p.assign(tf.tensor(base, p.shape));
  if (process.env.GC_DEBUG)
    console.log(`${name} err=${err.toExponential(2)} wrong=${errWrong.toExponential(2)}`);
  return { err, errWrong, scale, detail: rows.join('\n') };
}

beforeAll(async () => {
  await initBackend();
});

describe.each(['cnn', 'lrcn', 'medi', 'cam'] as Variant[])('Algorithm-1 gradients, variant %s', (variant) => {
  it('match central finite differences for every parameter', () => {
    const { P, batch } = hasMedi(variant)
      ? wellConditioned(variant, 7)
      : { P: initParams(variant, dims, 7), batch: makeBatch(11) };
    const opts: StepOptions = { lambda: 1 };
    const first = algorithm1Grads(P, variant, batch, opts);
    // hold the predicted class / caption fixed, as the contract treats them
    const fixed: StepOptions = { ...opts, classPred: first.classPred, predCaptions: first.predCaptions };
    const step = algorithm1Grads(P, variant, batch, fixed);
    expect(Object.keys(step.grads).sort()).toEqual(Object.keys(P).sort());
    for (const [name, g] of Object.entries(step.grads)) {
      const pick = objectiveFor(name);
      const res = check(P, name, g, () => algorithm1Losses(P, variant, batch, fixed)[pick], 3);
      expect(res.scale, name).toBeGreaterThan(1e-6);
      expect(res.err, `${variant} ${name}\n${res.detail}`).toBeLessThan(TOL);
      expect(res.errWrong, `${variant} ${name}: a 10% wrong gradient must fail`).toBeGreaterThan(TOL);
    }
    if (variant === 'cam') expect(step.losses.cam).toBeGreaterThan(0);
  });
});

describe('second-order gradients of the CAM terms w.r.t. f_medi', () => {
  it('∇L_cam (cam variant) matches finite differences', () => {
    const { P, batch } = wellConditioned('cam', 5);
    const first = algorithm1Grads(P, 'cam', batch, {});
    const opts: StepOptions = { terms: 'cam', classPred: first.classPred, predCaptions: first.predCaptions };
    const g = algorithm1Grads(P, 'cam', batch, opts);
    expect(Object.keys(g.grads).sort()).toEqual(['medi.bias', 'medi.weight']);
    for (const name of ['medi.weight', 'medi.bias']) {
      const res = check(P, name, g.grads[name], () => algorithm1Losses(P, 'cam', batch, opts).cam, 9);
      expect(res.err, `L_cam ${name}\n${res.detail}`).toBeLessThan(TOL);
      expect(res.errWrong).toBeGreaterThan(TOL);
    }
  });

  it.each(['medi', 'cam'] as Variant[])(
    '∇L_mask (%s variant, μ = 1) matches finite differences',
    (variant) => {
      const { P, batch } = wellConditioned(variant, 3, true);
      const first = algorithm1Grads(P, variant, batch, { mu: 1 });
      const opts: StepOptions = {
        terms: 'cam',
        mu: 1,
        lambda: 0,
        classPred: first.classPred,
        predCaptions: first.predCaptions,
      };
      const g = algorithm1Grads(P, variant, batch, opts);
      for (const name of ['medi.weight', 'medi.bias']) {
        const res = check(P, name, g.grads[name], () => algorithm1Losses(P, variant, batch, opts).mask, 21);
        expect(res.scale).toBeGreaterThan(1e-6);
        expect(res.err, `L_mask ${name}\n${res.detail}`).toBeLessThan(TOL);
        expect(res.errWrong).toBeGreaterThan(TOL);
      }
    },
  );
});

describe('micro-batches', () => {
  it.each([
    ['cam', 2, 0],
    ['cam', 1, 1],
    ['medi', 2, 1],
    ['lrcn', 2, 0],
  ] as [Variant, number, number][])(
    '%s in slices of %i (μ = %i) gives the full-batch gradients and losses',
    (variant, mb, mu) => {
      const P = initParams(variant, dims, 23);
      const batch = makeBatch(29, true);
      const full = algorithm1Grads(P, variant, batch, { mu, microBatch: Infinity });
      const parts = algorithm1Grads(P, variant, batch, { mu, microBatch: mb });
      for (const k of ['class', 'caption', 'cam', 'mask', 'total'] as const)
        expect(parts.losses[k]).toBeCloseTo(full.losses[k], 5);
      for (const [n, g] of Object.entries(full.grads)) {
        const a = g.dataSync();
        const b = parts.grads[n].dataSync();
        const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
        expect(Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]))) / scale, n).toBeLessThan(1e-4);
      }
    },
  );
});

describe('the shared caption pass', () => {
  // The cam step takes L_caption (value and gradients) out of the ground-truth caption's Grad-CAM
  // pass; here every gradient is rebuilt from separate passes: tf.grads of L_class + L_caption
  // computed on their own, plus the λ·L_cam gradient of f_medi (terms 'cam', no L_caption).
  // Same arithmetic in another order: float32 rounding (~1e-7 per op, a few hundred ops deep) stays
  // far below 1e-4 of each parameter's largest |gradient|; a missing term would be O(1).
  it.each([1, 2])(
    'gives the gradients of separate L_class, L_caption and L_cam passes (slices of %i)',
    (mb) => {
      const P = initParams('cam', dims, 31);
      const batch = makeBatch(37);
      const first = algorithm1Grads(P, 'cam', batch, {});
      const fixed: StepOptions = {
        classPred: first.classPred,
        predCaptions: first.predCaptions,
        microBatch: mb,
      };
      // on every backend (by default only wasm shares the pass)
      const step = algorithm1Grads(P, 'cam', batch, { ...fixed, shareCaptionPass: true });
      const cam = algorithm1Grads(P, 'cam', batch, { ...fixed, terms: 'cam' });
      const names = Object.keys(P);
      const plain = tf.grads(() => {
        const feat = feature(P, 'cam', pooled(batch.A!));
        return tf.add(
          classLoss(classify(P, feat), batch.labels),
          captionLoss(capPrep(P), feat, batch.captions),
        );
      })(names.map((n) => P[n]));
      names.forEach((n, i) => {
        const want = n.startsWith('medi.') ? tf.add(plain[i], cam.grads[n]) : plain[i];
        const a = want.dataSync();
        const b = step.grads[n].dataSync();
        const scale = Math.max(...Array.from(a, Math.abs));
        expect(scale, n).toBeGreaterThan(1e-6);
        expect(Math.max(...Array.from(a, (x, j) => Math.abs(x - b[j]))) / scale, n).toBeLessThan(1e-4);
      });
      const losses = algorithm1Losses(P, 'cam', batch, fixed);
      expect(step.losses.caption).toBeCloseTo(losses.caption, 5);
      expect(step.losses.cam).toBeGreaterThan(0);
    },
  );
});
