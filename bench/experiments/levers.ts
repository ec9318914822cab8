/**
 * In-process, interleaved A/B timings of speed levers at the paper's sizes (CPU time of this
 * process, median; docs/model.md "Speed levers, measured"). Not part of `npm run bench`:
 *   node --import tsx bench/experiments/levers.ts [cls] [matmul] [share] [fused [--small]] [pick] [lse] [act [--medi]] [lstm2 [--small]] [mm2d [--medi]] [gemm [--medi]] [fma [--medi] [--small]] [--batch 32] [--reps 5]
 * cls:    the classifier Grad-CAM alphas (gt + pred) and their second-order gradient into f_medi,
 *         closed form (gradcam.ts) vs the nested tf.grad through f_medi and f_class it replaced.
 * matmul: a product with the transposeB flag vs a cached transpose, at the model's shapes.
 * share:  a whole cam training step with L_caption taken from the ground-truth caption's Grad-CAM
 *         pass vs with its own forward and backward (StepOptions.shareCaptionPass); CPU and wall ms.
 * pick:   the target log-probs of a stacked caption pass ([2·19·B, V] logits) and their gradient:
 *         pickLogSoftmax vs the one-hot pick of logSoftmax.
 * lse:    the second-order use of log-sum-exp ([2·19·B, V]): softmax from the forward's lse vs
 *         recomputed from x in every backward pass (ops.ts before).
 * fused:  a whole medi training step with L_caption's LSTM as one layer with a hand-written BPTT
 *         (lstm.ts) vs step by step (useFusedLstm); CPU and wall ms.
 * mm2d:   a whole training step (cam, or medi with --medi) with its big products (every dimension
 *         ≥ 512) as libtensorflow's 2-D MatMul vs BatchMatMulV2 (ops.ts useMatMul2d); CPU and wall ms.
 * gemm:   a whole training step (cam, or medi with --medi) on wasm with its big products on our own
 *         SIMD GEMM (src-main/ml/wasm-gemm/) vs XNNPACK (useWasmGemm); CPU and wall ms.
 * fma:    as gemm, our GEMM's microkernels on relaxed SIMD's f32x4.relaxed_madd vs f32x4.mul +
 *         f32x4.add (useWasmFma; relaxed SIMD turned on in process where Node 20 needs the flag).
 * act:    a whole cam training step with σ's and tanh's gradients as libtensorflow's SigmoidGrad /
 *         TanhGrad (ops.ts, tfjs-node only) vs built from mul/sub (useFusedActivationGrads); CPU
 *         and wall ms, and the largest difference between the two steps' gradients.
 * lstm2:  a whole cam training step with the Grad-CAM pass's LSTM as lstm.ts's layer, whose
 *         second-order pass is hand-written, vs step by step (useSecondOrderLstm); as act, and
 *         also at the product's widths with --small.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { initBackend } from '../../src-main/ml/backend.ts';
import { type Batch, type StepOptions, algorithm1Grads } from '../../src-main/ml/algorithm1.ts';
import { gradCamAlphas } from '../../src-main/ml/gradcam.ts';
import { logSoftmax, logSumExp, pickLogSoftmax, useFusedActivationGrads, useMatMul2d } from '../../src-main/ml/ops.ts';
import { useWasmGemm, wasmGemmStats } from '../../src-main/ml/wasm-gemm/batch-matmul.ts';
import { allowRelaxedSimd, useWasmFma } from '../../src-main/ml/wasm-gemm/gemm.ts';
import {
  BOS,
  EOS,
  FIRST_WORD,
  PAD,
  type ModelDims,
  type Params,
  type Variant,
  classScores,
  initParams,
  medi,
  useFusedLstm,
  useSecondOrderLstm,
} from '../../src-main/ml/model.ts';
import { PAPER_DIMS } from '../train-step.ts';
import { DIMS } from '../../src-main/jobs/train/config.ts';
import { median } from '../lib/stats.ts';


function cpuMs(f: () => void): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function wallMs(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

/** Runs a and b alternately `reps` times after one untimed run each; medians of `time`. */
function interleaved(a: () => void, b: () => void, reps: number, time = cpuMs) {
  a();
  b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < reps; i++) {
    ta.push(time(a));
    tb.push(time(b));
  }
  return { a: median(ta), b: median(tb), ratio: Number((median(ta) / median(tb)).toFixed(3)) };
}

/**
 * On-CPU ms of the JavaScript thread (Linux; NaN elsewhere): JavaScript and the kernels run inline,
 * not libtensorflow's pool. On a quiet 2-core machine a native step's wall time is about this plus
 * half of the rest of its CPU time (docs/model.md "By CPU time and by thread").
 */
function mainThreadMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** As interleaved, timing each run's wall, CPU and JavaScript-thread time at once (pairs a, b, a, b, …). */
function interleavedWallAndCpu(a: () => void, b: () => void, reps: number) {
  a();
  b();
  const side = () => ({ cpu: [] as number[], wall: [] as number[], main: [] as number[] });
  const t = { a: side(), b: side() };
  for (let i = 0; i < reps; i++)
    for (const [k, f] of [['a', a], ['b', b]] as const) {
      const c0 = process.cpuUsage();
      const m0 = mainThreadMs();
      t[k].wall.push(wallMs(f));
      const c = process.cpuUsage(c0);
      t[k].main.push(mainThreadMs() - m0);
      t[k].cpu.push((c.user + c.system) / 1000);
    }
  const pair = (x: number[], y: number[]) => ({
    a: Math.round(median(x)),
    b: Math.round(median(y)),
    ratio: Number((median(x) / median(y)).toFixed(3)),
  });
  return { cpu: pair(t.a.cpu, t.b.cpu), wall: pair(t.a.wall, t.b.wall), main: pair(t.a.main, t.b.main) };
}

/** One A/B line: CPU and wall medians named after the two sides, their ratios, the load. */
function abLine(
  lever: string,
  [a, b]: [string, string],
  r: ReturnType<typeof interleavedWallAndCpu>,
  extra: Record<string, unknown> = {},
) {
  return {
    lever,
    ...extra,
    [`${a}_cpu_ms`]: r.cpu.a,
    [`${b}_cpu_ms`]: r.cpu.b,
    cpu_ratio: r.cpu.ratio,
    [`${a}_wall_ms`]: r.wall.a,
    [`${b}_wall_ms`]: r.wall.b,
    wall_ratio: r.wall.ratio,
    [`${a}_js_thread_ms`]: r.main.a,
    [`${b}_js_thread_ms`]: r.main.b,
    js_thread_ratio: r.main.ratio,
    loadavg: loadavg().map((v) => Number(v.toFixed(2))),
  };
}

function classAlphaLever(B: number, reps: number) {
  const P = initParams('cam', PAPER_DIMS, 1);
  const v = tf.randomUniform([B, PAPER_DIMS.K], 0, 1, 'float32', 2) as tf.Tensor2D;
  const gt = tf.tensor1d(
    Array.from({ length: B }, (_, i) => (i * 7) % PAPER_DIMS.C),
    'int32',
  );
  const pred = tf.tensor1d(
    Array.from({ length: B }, (_, i) => (i * 13) % PAPER_DIMS.C),
    'int32',
  );
  const nested = () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(classScores(P, medi(P, x).h, tf.concat([gt, pred]))))(
      tf.concat([v, v], 0),
    );
    return tf.split(g, 2, 0);
  };
  const closed = () =>
    gradCamAlphas(P, P, 'cam', v, [
      { kind: 'cls', classes: gt },
      { kind: 'cls', classes: pred },
    ]);
  // a stand-in for L_cam: any scalar of the alphas, differentiated into f_medi's weight
  const secondOrder = (alphas: () => tf.Tensor[]) => () => {
    const { value, grads } = tf.variableGrads(
      () => tf.tidy(() => tf.addN(alphas().map((a) => tf.sum(tf.square(a)))) as tf.Scalar),
      [P['medi.weight']],
    );
    Object.values(grads).forEach((g) => g.dataSync() && g.dispose());
    value.dispose();
  };
  const r = interleaved(secondOrder(closed), secondOrder(nested), reps);
  Object.values(P).forEach((p) => p.dispose());
  return { lever: 'cls_alphas_closed_form', batch: B, closed_ms: r.a, nested_ms: r.b, ratio: r.ratio };
}

function matmulLever(reps: number) {
  const out = [];
  for (const [n, k, m] of [
    [608, 1024, 5000],
    [32, 1024, 4096],
  ]) {
    const a = tf.randomNormal([n, k]);
    const w = tf.randomNormal([m, k]);
    const wT = tf.transpose(w);
    const run = (f: () => tf.Tensor) => () => {
      const y = f();
      y.dataSync();
      y.dispose();
    };
    const r = interleaved(
      run(() => tf.matMul(a, w, false, true)),
      run(() => tf.matMul(a, wT)),
      reps,
    );
    out.push({
      lever: 'matmul_transposeB_flag',
      shape: `[${n},${k}]x[${k},${m}]ᵀ`,
      flag_ms: r.a,
      cached_transpose_ms: r.b,
      ratio: r.ratio,
    });
    for (const t of [a, w, wT]) t.dispose();
  }
  return out;
}

/** Parameters of `variant` and a batch of B images at the paper's sizes, deterministic. */
function paperStepInputs(variant: Variant, B: number, dims: ModelDims = PAPER_DIMS) {
  const T = 20;
  const P = initParams(variant, dims, 1);
  const A = tf.randomUniform([B, 8, 8, dims.K], 0, 1, 'float32', 2) as tf.Tensor4D;
  const labels = tf.tensor1d(
    Array.from({ length: B }, (_, i) => (i * 7) % dims.C),
    'int32',
  );
  const caps = new Int32Array(B * T).fill(PAD);
  for (let b = 0; b < B; b++) {
    const n = 5 + (b % 13);
    caps[b * T] = BOS;
    for (let i = 1; i <= n; i++)
      caps[b * T + i] = FIRST_WORD + ((b * 31 + i * 17) % (dims.V - FIRST_WORD));
    caps[b * T + n + 1] = EOS;
  }
  const batch = { A, labels, captions: tf.tensor2d(caps, [B, T], 'int32') };
  const dispose = () => [A, labels, batch.captions, ...Object.values(P)].forEach((t) => t.dispose());
  return { P, batch, dispose };
}

/** A training step (gradients only) after `setup()`. */
const trainStep = (P: Params, variant: Variant, batch: Batch, setup: () => StepOptions) => () => {
  const r = algorithm1Grads(P, variant, batch, setup());
  Object.values(r.grads).forEach((g) => g.dispose());
  r.classPred?.dispose();
  r.predCaptions?.dispose();
};

/** A cam training step (gradients only) at the paper's sizes, with and without the shared caption pass. */
function shareLever(B: number, reps: number) {
  const { P, batch, dispose } = paperStepInputs('cam', B);
  const step = (shareCaptionPass: boolean) => trainStep(P, 'cam', batch, () => ({ shareCaptionPass }));
  // CPU time is the fairer figure on a loaded machine for single-threaded wasm; tfjs-node runs
  // its kernels on several threads, so wall time is reported as well (same runs)
  const r = interleavedWallAndCpu(step(true), step(false), reps);
  dispose();
  return abLine('shared_caption_pass', ['shared', 'separate'], r, { batch: B });
}

/** A medi training step with L_caption's LSTM as lstm.ts's layer (hand-written BPTT) or step by step. */
function fusedLstmLever(B: number, reps: number, dims: ModelDims) {
  const { P, batch, dispose } = paperStepInputs('medi', B, dims);
  const step = (on: boolean) =>
    trainStep(P, 'medi', batch, () => {
      useFusedLstm(on);
      return {};
    });
  const r = interleavedWallAndCpu(step(true), step(false), reps);
  useFusedLstm(undefined);
  dispose();
  return abLine('fused_lstm_bptt', ['fused', 'stepwise'], r, { batch: B, D: dims.D, V: dims.V });
}

/** A training step with the big products as the 2-D MatMul op or BatchMatMulV2 (tfjs-node). */
function matMul2dLever(variant: Variant, B: number, reps: number) {
  const { P, batch, dispose } = paperStepInputs(variant, B);
  const step = (on: boolean) =>
    trainStep(P, variant, batch, () => {
      useMatMul2d(on);
      return {};
    });
  const r = interleavedWallAndCpu(step(true), step(false), reps);
  useMatMul2d(undefined);
  dispose();
  return abLine('matmul_2d_for_big_products', ['matmul2d', 'batchmatmul'], r, { variant, batch: B });
}

/** A training step on wasm with the big products on our own GEMM or on XNNPACK. */
function wasmGemmLever(variant: Variant, B: number, reps: number) {
  const { P, batch, dispose } = paperStepInputs(variant, B);
  const step = (on: boolean) =>
    trainStep(P, variant, batch, () => {
      useWasmGemm(on);
      return {};
    });
  const before = { ...wasmGemmStats };
  const r = interleavedWallAndCpu(step(true), step(false), reps);
  const runs = reps + 1;
  const perStep = { products: (wasmGemmStats.products - before.products) / runs, gmacs: (wasmGemmStats.macs - before.macs) / runs / 1e9 };
  useWasmGemm(undefined);
  dispose();
  return abLine('wasm_gemm_for_big_products', ['own_gemm', 'xnnpack'], r, { variant, batch: B, own_gemm_per_step: perStep });
}

/**
 * A training step with a switch on and off: the largest difference between the two steps'
 * gradients (relative to each parameter's largest gradient), then CPU and wall time A/B.
 */
function switchLever(
  lever: string,
  sides: [string, string],
  variant: Variant,
  B: number,
  reps: number,
  set: (on: boolean | undefined) => void,
  dims: ModelDims = PAPER_DIMS,
) {
  const { P, batch, dispose } = paperStepInputs(variant, B, dims);
  const step = (on: boolean) =>
    trainStep(P, variant, batch, () => {
      set(on);
      return {};
    });
  const grads = (on: boolean) => {
    set(on);
    const r = algorithm1Grads(P, variant, batch, {});
    const out = Object.fromEntries(Object.entries(r.grads).map(([n, g]) => [n, g.dataSync().slice()]));
    Object.values(r.grads).forEach((t) => t.dispose());
    r.classPred?.dispose();
    r.predCaptions?.dispose();
    return out;
  };
  const [g1, g0] = [grads(true), grads(false)];
  let rel = 0;
  for (const n of Object.keys(g0)) {
    let d = 0;
    let m = 0;
    for (let i = 0; i < g0[n].length; i++) {
      d = Math.max(d, Math.abs(g1[n][i] - g0[n][i]));
      m = Math.max(m, Math.abs(g0[n][i]));
    }
    rel = Math.max(rel, m > 0 ? d / m : d);
  }
  const r = interleavedWallAndCpu(step(true), step(false), reps);
  set(undefined);
  dispose();
  return abLine(lever, sides, r, { variant, batch: B, D: dims.D, V: dims.V, max_rel_diff: rel });
}

/**
 * A training step on wasm with our GEMM's microkernels on relaxed_madd (and so every product on
 * our GEMM: batch-matmul.ts's routing) or on mul + add (small products with a B seen before on XNNPACK).
 */
function wasmFmaLever(variant: Variant, B: number, reps: number, dims: ModelDims) {
  if (!allowRelaxedSimd()) throw new Error('this engine has no relaxed SIMD');
  return switchLever('wasm_gemm_relaxed_madd', ['relaxed_madd', 'mul_add'], variant, B, reps, useWasmFma, dims);
}

/** A cam step with σ's and tanh's gradients as one libtensorflow op each, or from mul/sub. */
const actGradLever = (variant: Variant, B: number, reps: number) =>
  switchLever('fused_activation_gradients', ['fused', 'mul_sub'], variant, B, reps, useFusedActivationGrads);

/** A cam step with the Grad-CAM pass's LSTM as lstm.ts's layer (hand-written second order) or step by step. */
const secondOrderLstmLever = (B: number, reps: number, dims: ModelDims) =>
  switchLever('second_order_lstm', ['layer', 'stepwise'], 'cam', B, reps, useSecondOrderLstm, dims);

/**
 * The target-token log-probs of a caption pass ([rows, V] word logits), forward and the gradient
 * w.r.t. the logits: the picked logit minus log Σ exp (pickLogSoftmax) vs the one-hot pick of
 * logSoftmax it replaced.
 */
function pickLever(rows: number, reps: number) {
  const V = PAPER_DIMS.V;
  const x = tf.randomNormal([rows, V], 0, 3, 'float32', 5) as tf.Tensor2D;
  const tgt = tf.randomUniform([rows], 0, V, 'int32', 6) as tf.Tensor1D;
  const run = (pick: (z: tf.Tensor2D) => tf.Tensor) => () =>
    tf.tidy(() => {
      const g = tf.grad((z: tf.Tensor) => tf.sum(pick(z as tf.Tensor2D)))(x);
      g.dataSync();
    });
  const r = interleavedWallAndCpu(
    run((z) => pickLogSoftmax(z, tgt)),
    run((z) => tf.sum(tf.mul(logSoftmax(z), tf.oneHot(tgt, V)), 1)),
    reps,
  );
  x.dispose();
  tgt.dispose();
  return abLine('target_logprob_without_one_hot', ['pick', 'one_hot'], r, { shape: `[${rows},${V}]` });
}

/** The log-sum-exp ops.ts had before: its gradient recomputed the lse from x in every backward pass. */
const recomputingLogSumExp: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
  save([x]);
  const m = tf.max(x, -1, true);
  return {
    value: tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(x, m)), -1, true))),
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, tf.exp(tf.sub(xs, recomputingLogSumExp(xs)))),
  };
}) as never) as never;

/**
 * The second-order use of log-sum-exp in a cam step: the gradient w.r.t. the logits of a scalar
 * of the first gradient (as the outer pass differentiates the captioner alphas), [rows, V]:
 * ops.logSumExp (softmax from the lse of the forward) vs recomputingLogSumExp.
 */
function lseLever(rows: number, reps: number) {
  const V = PAPER_DIMS.V;
  const x = tf.randomNormal([rows, V], 0, 3, 'float32', 5);
  const c = tf.randomNormal([rows, V], 0, 1, 'float32', 7);
  const run = (lse: (z: tf.Tensor) => tf.Tensor) => () =>
    tf.tidy(() => {
      const first = (z: tf.Tensor) => tf.grad((y: tf.Tensor) => tf.sum(lse(y)))(z);
      tf.grad((z: tf.Tensor) => tf.sum(tf.mul(first(z), c)))(x).dataSync();
    });
  const r = interleavedWallAndCpu(run(logSumExp), run(recomputingLogSumExp), reps);
  x.dispose();
  c.dispose();
  return abLine('log_sum_exp_gradient_from_saved_lse', ['saved', 'recomputed'], r, { shape: `[${rows},${V}]` });
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (n: string, d: number) => (args.includes(n) ? Number(args[args.indexOf(n) + 1]) : d);
  const names = args.filter((a) => ['cls', 'matmul', 'share', 'fused', 'pick', 'lse', 'act', 'mm2d', 'gemm', 'fma', 'lstm2'].includes(a));
  const which = names.length ? names : ['cls', 'matmul'];
  const backend = await initBackend();
  const print = (o: object) =>
    process.stdout.write(JSON.stringify({ bench: 'lever', backend: backend.name, ...o }) + '\n');
  if (which.includes('cls')) print(classAlphaLever(opt('--batch', 32), opt('--reps', 5)));
  if (which.includes('matmul')) matmulLever(opt('--reps', 3)).forEach(print);
  if (names.includes('mm2d'))
    print(matMul2dLever((args.includes('--medi') ? 'medi' : 'cam') as Variant, opt('--batch', 32), opt('--reps', 3)));
  if (names.includes('gemm'))
    print(wasmGemmLever((args.includes('--medi') ? 'medi' : 'cam') as Variant, opt('--batch', 32), opt('--reps', 3)));
  if (names.includes('act'))
    print(actGradLever((args.includes('--medi') ? 'medi' : 'cam') as Variant, opt('--batch', 32), opt('--reps', 3)));
  if (names.includes('share')) print(shareLever(opt('--batch', 32), opt('--reps', 3)));
  // `--small`: the product's default widths (D=E·2=Hd=128, V=800) instead of the paper's
  const small: ModelDims = { ...PAPER_DIMS, ...DIMS.small, V: 800 };
  if (names.includes('fma'))
    print(wasmFmaLever(args.includes('--medi') ? 'medi' : 'cam', opt('--batch', 32), opt('--reps', 3), args.includes('--small') ? small : PAPER_DIMS));
  if (names.includes('lstm2'))
    print(secondOrderLstmLever(opt('--batch', 32), opt('--reps', 3), args.includes('--small') ? small : PAPER_DIMS));
  if (names.includes('fused'))
    print(fusedLstmLever(opt('--batch', 32), opt('--reps', 3), args.includes('--small') ? small : PAPER_DIMS));
  if (names.includes('pick')) print(pickLever(opt('--batch', 32) * 19 * 2, opt('--reps', 5)));
  if (names.includes('lse')) print(lseLever(opt('--batch', 32) * 19 * 2, opt('--reps', 5)));
}

await main();
