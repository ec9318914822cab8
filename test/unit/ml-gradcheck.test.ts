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
  type Regularisation,
  type StepOptions,
} from '../../src-main/ml/algorithm1.ts';
import { camMaps, gradCamAlphas, type ScoreRequest } from '../../src-main/ml/gradcam.ts';
import { camLoss } from '../../src-main/ml/losses.ts';
import type { RepeatUnit } from '../../src-main/ml/unlikelihood.ts';
import { advantages, captionWords, docFreq, leaveOneOutAdvantages, sampledCaptions, sampleSeed, sampleSurrogate, type SelfCritical } from '../../src-main/ml/self-critical.ts';
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
  teacherForced,
} from '../../src-main/ml/model.ts';
import {
  BOS,
  EOS,
  FIRST_WORD,
  PAD,
  type ModelDims,
  type ParamView,
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

/** The batch with references [B,2,T] for self-critical training: each row's own caption and the caption of the row opposite. */
function withReferences(batch: Batch): Batch {
  const caps = batch.captions.arraySync() as number[][];
  batch.references = tf.tensor3d(caps.map((c, b) => [c, caps[B - 1 - b]]), [B, 2, T], 'int32');
  return batch;
}

/** Self-critical training of weight β, scored with the document frequencies of the batch's own references. */
function selfCriticalOf(batch: Batch, weight: number): SelfCritical {
  const refs = batch.references!.arraySync() as number[][][];
  return { weight, seed: 9, docFreq: docFreq(refs.map((rows) => rows.map(captionWords).filter((w) => w.length))) };
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
    ['cam', 2, 0, 0],
    ['cam', 1, 1, 0],
    ['medi', 2, 1, 0],
    ['lrcn', 2, 0, 0],
    ['lrcn', 1, 0, 2],
    ['cam', 2, 0, 2],
    ['lrcn', 1, 0, -1],
    ['cam', 2, 0, -1],
    ['lrcn', 1, 0, -2],
    ['cam', 2, 0, -2],
    ['lrcn', 1, 0, -3],
    ['cam', 2, 0, -3],
    ['lrcn', 1, 0, -4],
    ['cam', 2, 0, -4],
  ] as [Variant, number, number, number][])(
    '%s in slices of %i (μ = %i, unlikelihood %i; −1: scheduled sampling, −2: of greedy loops, −3: self-critical, −4: with 3 samples) gives the full-batch gradients and losses',
    (variant, mb, mu, unlikelihood) => {
      const P = initParams(variant, dims, 23);
      const batch = makeBatch(29, true);
      // sampled inputs draw per row of the whole batch, so every slice must draw what the whole did
      if (unlikelihood <= -3) withReferences(batch);
      const own: Record<number, Regularisation> = {
        [-1]: { sampling: { rate: 0.5, seed: 5 } },
        [-2]: { loopUnlikelihood: 2 },
        [-3]: { selfCritical: unlikelihood === -3 ? selfCriticalOf(batch, 2) : undefined },
        [-4]: { selfCritical: unlikelihood === -4 ? { ...selfCriticalOf(batch, 2), samples: 3 } : undefined },
      };
      const regularise = unlikelihood > 0 ? { unlikelihood } : own[unlikelihood];
      const full = algorithm1Grads(P, variant, batch, { mu, regularise, microBatch: Infinity });
      const parts = algorithm1Grads(P, variant, batch, { mu, regularise, microBatch: mb });
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

/**
 * L_cam with one side's Grad-CAMs taken from the frozen parameters P0 (a constant) and the other
 * side's from the live P: what camTarget 'class' ('caption') differentiates.
 */
function oneSidedCam(P: Params, P0: ParamView, batch: Batch, o: StepOptions, held: 'class' | 'caption'): number {
  return tf.tidy(() => {
    const v = pooled(batch.A!);
    const reqs: ScoreRequest[] = [
      { kind: 'cls', classes: batch.labels },
      { kind: 'cap', captions: batch.captions },
      { kind: 'cls', classes: o.classPred! },
      { kind: 'cap', captions: o.predCaptions! },
    ];
    const live = gradCamAlphas(P, P, 'cam', v, reqs);
    const frozen = gradCamAlphas(P0, P0, 'cam', v, reqs);
    const pick = reqs.map((r, i) => ((r.kind === 'cls') === (held === 'class') ? frozen[i] : live[i]));
    const [clsGt, capGt, clsPred, capPred] = camMaps(batch.A!, pick);
    return camLoss({ cam_cls_gt: clsGt, cam_cap_gt: capGt, cam_cls_pred: clsPred, cam_cap_pred: capPred }).dataSync()[0];
  });
}

describe('one-sided L_cam (camTarget)', () => {
  it.each(['class', 'caption'] as const)(
    "with the %s side's CAMs held fixed, ∇L_cam w.r.t. f_medi matches finite differences of that L_cam",
    (held) => {
      const { P, batch } = wellConditioned('cam', 5);
      const first = algorithm1Grads(P, 'cam', batch, {});
      const opts: StepOptions = { terms: 'cam', classPred: first.classPred, predCaptions: first.predCaptions };
      const P0: ParamView = Object.fromEntries(Object.entries(P).map(([n, t]) => [n, tf.tensor(t.dataSync(), t.shape)]));
      const g = algorithm1Grads(P, 'cam', batch, { ...opts, camTarget: held });
      const both = algorithm1Grads(P, 'cam', batch, opts);
      // the value of L_cam is the contract's either way; only its gradient changes
      expect(g.losses.cam).toBeCloseTo(both.losses.cam, 6);
      // the classifier's alpha does not depend on f_medi's bias (relu' enters as a constant), so
      // only the captioner's path reaches it: zero with that path held, the contract's without it
      const bias = Array.from(g.grads['medi.bias'].dataSync());
      if (held === 'caption') expect(bias.every((x) => x === 0)).toBe(true);
      else expect(bias).toEqual(Array.from(both.grads['medi.bias'].dataSync()));
      const names = held === 'caption' ? ['medi.weight'] : ['medi.weight', 'medi.bias'];
      for (const name of names) {
        const res = check(P, name, g.grads[name], () => oneSidedCam(P, P0, batch, opts, held), 13);
        expect(res.scale).toBeGreaterThan(1e-6);
        expect(res.err, `L_cam (${held} held) ${name}\n${res.detail}`).toBeLessThan(TOL);
        expect(res.errWrong).toBeGreaterThan(TOL);
      }
      // the contract's two-sided gradient is not this one
      const off = check(P, 'medi.weight', both.grads['medi.weight'], () => oneSidedCam(P, P0, batch, opts, held), 13);
      expect(off.err, "the contract's gradient must differ").toBeGreaterThan(TOL);
      tf.dispose(Object.values(P0));
    },
  );

  it("the two one-sided gradients add up to the contract's (L_cam is a sum of the two paths)", () => {
    const { P, batch } = wellConditioned('cam', 5);
    const first = algorithm1Grads(P, 'cam', batch, {});
    const opts: StepOptions = { terms: 'cam', classPred: first.classPred, predCaptions: first.predCaptions };
    const both = algorithm1Grads(P, 'cam', batch, opts);
    const cls = algorithm1Grads(P, 'cam', batch, { ...opts, camTarget: 'class' });
    const cap = algorithm1Grads(P, 'cam', batch, { ...opts, camTarget: 'caption' });
    for (const n of ['medi.weight', 'medi.bias']) {
      const a = both.grads[n].dataSync();
      const b = tf.add(cls.grads[n], cap.grads[n]).dataSync();
      const scale = Math.max(...Array.from(a, Math.abs));
      expect(scale, n).toBeGreaterThan(1e-6);
      expect(Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]))) / scale, n).toBeLessThan(1e-4);
    }
    // neither side alone is the whole
    const a = both.grads['medi.weight'].dataSync();
    const scale = Math.max(...Array.from(a, Math.abs));
    for (const one of [cls, cap]) {
      const c = one.grads['medi.weight'].dataSync();
      expect(Math.max(...Array.from(a, (x, i) => Math.abs(x - c[i]))) / scale).toBeGreaterThan(1e-2);
    }
    expect(() => algorithm1Grads(P, 'cam', batch, { ...opts, camTarget: 'neither' as never })).toThrow(/camTarget/);
  });

  it('a full cam step with the classifier side held leaves cls.* and cap.* gradients as they are', () => {
    const P = initParams('cam', dims, 31);
    const batch = makeBatch(37);
    const first = algorithm1Grads(P, 'cam', batch, {});
    const fixed: StepOptions = { classPred: first.classPred, predCaptions: first.predCaptions };
    const both = algorithm1Grads(P, 'cam', batch, fixed);
    const one = algorithm1Grads(P, 'cam', batch, { ...fixed, camTarget: 'class' });
    for (const n of Object.keys(P).filter((k) => !k.startsWith('medi.')))
      expect(Array.from(one.grads[n].dataSync()), n).toEqual(Array.from(both.grads[n].dataSync()));
    expect(Array.from(one.grads['medi.weight'].dataSync())).not.toEqual(Array.from(both.grads['medi.weight'].dataSync()));
    expect(one.losses.total).toBeCloseTo(both.losses.total, 6);
  });
});

describe('unlikelihood in L_caption (a training option)', () => {
  it.each([
    ['lrcn', 'words'],
    ['cam', 'words'],
    ['lrcn', 'bigrams'],
  ] as [Variant, RepeatUnit][])('%s, repeats of %s: every gradient matches finite differences of the objective with it', (variant, unit) => {
    const { P, batch } = hasMedi(variant)
      ? wellConditioned(variant, 7)
      : { P: initParams(variant, dims, 7), batch: makeBatch(11) };
    const opts: StepOptions = { lambda: 1, regularise: { unlikelihood: 2, unlikelihoodOf: unit } };
    const first = algorithm1Grads(P, variant, batch, opts);
    const fixed: StepOptions = { ...opts, classPred: first.classPred, predCaptions: first.predCaptions };
    const step = algorithm1Grads(P, variant, batch, fixed);
    // the term is there: the caption loss is larger than without it
    expect(step.losses.caption).toBeGreaterThan(algorithm1Losses(P, variant, batch, { ...fixed, regularise: undefined }).caption + 1e-3);
    for (const [name, g] of Object.entries(step.grads)) {
      const res = check(P, name, g, () => algorithm1Losses(P, variant, batch, fixed)[objectiveFor(name)], 5);
      expect(res.err, `${variant} ${name}\n${res.detail}`).toBeLessThan(TOL);
      expect(res.errWrong, `${variant} ${name}: a 10% wrong gradient must fail`).toBeGreaterThan(TOL);
    }
  });
});

/**
 * The smallest gap between the best and the second-best word (PAD and BOS banned) where the
 * captioner picks its own words: the teacher-forced guesses for the reference captions (scheduled
 * sampling) and every step of its greedy captions up to EOS (the greedy step's logits are those of
 * teacher forcing on the greedy caption).
 */
function ownWordsMargin(P: ParamView, variant: Variant, batch: Batch): number {
  return tf.tidy(() => {
    const cp = capPrep(P);
    const feat = feature(P, variant, pooled(batch.A!));
    const own = greedyDecode(P, feat, T);
    const gap = (caps: tf.Tensor2D) => {
      const logits = teacherForced(cp, feat, caps).arraySync() as number[][];
      const ids = caps.arraySync() as number[][];
      let min = Infinity;
      logits.forEach((row, r) => {
        if (ids[Math.floor(r / (T - 1))][(r % (T - 1)) + 1] === PAD) return;
        const [a, b] = row.filter((_, w) => w !== PAD && w !== BOS).sort((x, y) => y - x);
        min = Math.min(min, a - b);
      });
      return min;
    };
    return Math.min(gap(batch.captions), gap(own));
  });
}

/**
 * An instance on which the captioner's own words stay the same under the check's steps (every
 * gap of ownWordsMargin at least 3 steps), well conditioned as well where the model has f_medi.
 */
function ownWordsStable(variant: Variant, start: number) {
  for (let seed = start; seed < start + 200; seed++) {
    const inst = hasMedi(variant) ? wellConditioned(variant, seed) : { P: initParams(variant, dims, seed), batch: makeBatch(seed + 1000), seed };
    if (ownWordsMargin(inst.P, variant, inst.batch) > 3 * H) return inst;
    Object.values(inst.P).forEach((t) => t.dispose());
    seed = inst.seed;
  }
  throw new Error('no instance with stable own words found');
}

describe("L_caption on the captioner's own words (training options)", () => {
  const own: Record<string, Regularisation> = {
    'scheduled sampling': { sampling: { rate: 0.6, seed: 3 } },
    'unlikelihood of its greedy loops': { loopUnlikelihood: 2 },
  };
  it.each([
    ['lrcn', 'scheduled sampling'],
    ['cam', 'scheduled sampling'],
    ['lrcn', 'unlikelihood of its greedy loops'],
    ['cam', 'unlikelihood of its greedy loops'],
  ] as [Variant, string][])('%s, %s: every gradient matches finite differences of the objective', (variant, option) => {
    const { P, batch } = ownWordsStable(variant, 7);
    const opts: StepOptions = { lambda: 1, regularise: own[option] };
    const first = algorithm1Grads(P, variant, batch, opts);
    const fixed: StepOptions = { ...opts, classPred: first.classPred, predCaptions: first.predCaptions };
    const step = algorithm1Grads(P, variant, batch, fixed);
    // the option acts: the caption loss is not the plain one
    const plain = algorithm1Losses(P, variant, batch, { ...fixed, regularise: undefined }).caption;
    expect(Math.abs(step.losses.caption - plain)).toBeGreaterThan(1e-4);
    // the captioner's own words are argmaxes, here constant under the small steps of the check
    // (ownWordsStable), so the objective is smooth there: its gradient is that of teacher forcing on them
    for (const [name, g] of Object.entries(step.grads)) {
      const res = check(P, name, g, () => algorithm1Losses(P, variant, batch, fixed)[objectiveFor(name)], 5);
      expect(res.err, `${variant} ${name}\n${res.detail}`).toBeLessThan(TOL);
      expect(res.errWrong, `${variant} ${name}: a 10% wrong gradient must fail`).toBeGreaterThan(TOL);
    }
  });
});

describe('weighted L_class (classWeight)', () => {
  it.each(['cnn', 'medi', 'cam'] as Variant[])('%s: scales exactly the gradient that L_class sends', (variant) => {
    const P = initParams(variant, dims, 41);
    const batch = makeBatch(43);
    const first = algorithm1Grads(P, variant, batch, {});
    const fixed: StepOptions = { classPred: first.classPred, predCaptions: first.predCaptions, lambda: 0.5 };
    const plain = algorithm1Grads(P, variant, batch, fixed);
    const heavy = algorithm1Grads(P, variant, batch, { ...fixed, classWeight: 3 });
    // L_class alone, to take its part out of medi.*
    const medis = Object.keys(P).filter((n) => n.startsWith('medi.'));
    const lossClass = () => classLoss(classify(P, feature(P, variant, pooled(batch.A!))), batch.labels);
    const cls = medis.length ? tf.grads(lossClass)(medis.map((n) => P[n])) : [];
    Object.keys(P).forEach((n) => {
      const want = n.startsWith('cls.')
        ? tf.mul(plain.grads[n], 3)
        : n.startsWith('medi.')
          ? tf.add(plain.grads[n], tf.mul(cls[medis.indexOf(n)], 2))
          : plain.grads[n];
      const a = want.dataSync();
      const b = heavy.grads[n].dataSync();
      const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
      expect(Math.max(...Array.from(a, (x, j) => Math.abs(x - b[j]))) / scale, n).toBeLessThan(1e-4);
    });
    expect(heavy.losses.class).toBeCloseTo(plain.losses.class, 6);
    expect(heavy.losses.total).toBeCloseTo(plain.losses.total + 2 * plain.losses.class, 5);
  });
});

describe('self-critical training (sampled captions scored by CIDEr-D)', () => {
  const trainedBy = (variant: Variant, P: ParamView) =>
    Object.keys(P).filter((n) => n.startsWith('cap.') || (hasMedi(variant) && n.startsWith('medi.')));

  it.each(['lrcn', 'cam'] as Variant[])(
    "%s: the surrogate's gradient at fixed samples and advantages matches finite differences",
    (variant) => {
      const { P, batch } = hasMedi(variant) ? wellConditioned(variant, 7) : { P: initParams(variant, dims, 7), batch: makeBatch(11) };
      const feat = () => feature(P, variant, pooled(batch.A!));
      const sample = sampledCaptions(capPrep(P), feat(), T, { seed: 4 });
      const adv = tf.tensor1d([1, -0.5, 0.7]);
      const f = () => sampleSurrogate(capPrep(P), feat(), sample, adv);
      const names = trainedBy(variant, P);
      const gs = tf.grads(f)(names.map((n) => P[n]));
      names.forEach((name, i) => {
        const res = check(P, name, gs[i], () => f().dataSync()[0], 5);
        expect(res.err, `${variant} ${name}\n${res.detail}`).toBeLessThan(TOL);
        expect(res.errWrong, `${variant} ${name}: a 10% wrong gradient must fail`).toBeGreaterThan(TOL);
      });
    },
  );

  /**
   * The self-critical surrogate of a step rebuilt outside it, at the step's own draws and scores:
   * one sample against the greedy caption, or k samples each against the mean of the others,
   * averaged over the samples.
   */
  function rebuiltSurrogate(P: ParamView, variant: Variant, batch: Batch, sc: SelfCritical): () => tf.Scalar {
    const cp = capPrep(P);
    const feat = () => feature(P, variant, pooled(batch.A!));
    const refs = batch.references!.dataSync() as Int32Array;
    const k = sc.samples ?? 1;
    const samples = Array.from({ length: k }, (_, j) => sampledCaptions(cp, feat(), T, { seed: sampleSeed(sc.seed, j) }));
    const rows = samples.map((c) => c.dataSync() as Int32Array);
    const adv =
      k === 1
        ? [advantages(rows[0], greedyDecode(P, feat(), T).dataSync() as Int32Array, refs, [B, 2, T], sc.docFreq)]
        : leaveOneOutAdvantages(rows, refs, [B, 2, T], sc.docFreq);
    expect(adv.flatMap((a) => Array.from(a)).some((a) => Math.abs(a) > 1e-3)).toBe(true);
    return () => tf.div(tf.addN(samples.map((c, j) => sampleSurrogate(capPrep(P), feat(), c, tf.tensor1d(adv[j])))), k) as tf.Scalar;
  }

  it.each([
    ['lrcn', 1],
    ['cam', 1],
    ['lrcn', 3],
    ['cam', 3],
  ] as [Variant, number][])(
    "%s, %i sample(s) per photo: Algorithm 1 adds β / (target words) times the surrogate's gradient, at the step's own samples and advantages",
    (variant, samples) => {
      const P = initParams(variant, dims, 41);
      const batch = withReferences(makeBatch(43));
      const first = algorithm1Grads(P, variant, batch, {});
      const fixed: StepOptions = { classPred: first.classPred, predCaptions: first.predCaptions, lambda: 0.5 };
      const sc = { ...selfCriticalOf(batch, 2), ...(samples > 1 ? { samples } : {}) };
      const plain = algorithm1Grads(P, variant, batch, fixed);
      const trained = algorithm1Grads(P, variant, batch, { ...fixed, regularise: { selfCritical: sc } });
      const surrogate = rebuiltSurrogate(P, variant, batch, sc);
      const tokens = (batch.captions.arraySync() as number[][]).flatMap((c) => c.slice(1)).filter((w) => w !== PAD).length;
      const names = trainedBy(variant, P);
      const extra = tf.grads(() => tf.mul(surrogate(), sc.weight / tokens))(names.map((n) => P[n]));
      names.forEach((n, i) => {
        const want = tf.add(plain.grads[n], extra[i]).dataSync();
        const got = trained.grads[n].dataSync();
        const scale = Math.max(...Array.from(extra[i].dataSync(), Math.abs));
        expect(scale, n).toBeGreaterThan(1e-6);
        expect(Math.max(...Array.from(want, (x, j) => Math.abs(x - got[j]))) / scale, n).toBeLessThan(1e-3);
      });
      // cls.* sees none of it
      for (const n of Object.keys(P).filter((k) => k.startsWith('cls.')))
        expect(Array.from(trained.grads[n].dataSync())).toEqual(Array.from(plain.grads[n].dataSync()));
    },
  );
});
