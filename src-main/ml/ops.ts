/**
 * Differentiable primitives with hand-written gradients (docs/design.md: Compute backends).
 *
 * Two TF.js traps are avoided here:
 *  1. Speed on wasm: TF.js's own matMul gradient uses matMul(…, transposeA/transposeB), which runs
 *     at 1–3.6 GFLOP/s on wasm, against ~45 GFLOP/s for an explicit tf.transpose followed by a
 *     plain matMul. `mm` and `linear` transpose explicitly, in the forward and in the gradient.
 *     On tfjs-node the opposite holds (flags are free in libtensorflow, and every transpose or
 *     reshape is one more kernel dispatch), so there the same functions run one flagged kernel.
 *  2. Second-order gradients: TF.js's gradients of exp/sigmoid/tanh/softmax reuse their saved
 *     output, and a nested tf.grad through them drops terms. `sigmoid`, `tanh`, `logSoftmax`
 *     and `logSumExp` here compute their gradient from the INPUT, with ops that are themselves
 *     built from these primitives, so a gradient of a gradient is exact.
 *
 * The model's own Grad-CAM path does not rely on nested tf.grad at all (the inner backward pass is
 * written out by hand in model.ts and differentiated once); these primitives make nested tf.grad
 * safe for anything else that needs it, and are proven by finite differences in the tests.
 */
import * as tf from '@tensorflow/tfjs';
import { useLeanGradients } from './lean-grads.ts';
import { wasmGemmProduct } from './wasm-gemm/batch-matmul.ts';

useLeanGradients();

type GradFn = (...args: unknown[]) => {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
};
const custom = <T extends tf.Tensor>(f: GradFn) =>
  tf.customGrad(f as never) as unknown as (...xs: tf.Tensor[]) => T;

/** Transpose of a 2-D tensor (its gradient is a transpose too, so any order is exact). */
export function t2(x: tf.Tensor): tf.Tensor2D {
  return tf.transpose(x as tf.Tensor2D, [1, 0]);
}

/**
 * tfjs-node (libtensorflow): matMul's transpose flags cost nothing and every extra op (a reshape to
 * [1,n,k], a transpose) is a dispatch of its own, which dominates a step at small widths.
 */
function nativeMatMul(): boolean {
  return tf.getBackend() === 'tensorflow';
}

const MMT = 'PlumageMatMulFlags';
const mmtBackends = new Set<string>();
let mmtGradRegistered = false;

/** The flagged product's gradient, through itself (so twice differentiable), lazy per input. */
function registerMmtGradient(): void {
  if (mmtGradRegistered) return;
  tf.registerGradient({
    kernelName: MMT,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const d = dy as tf.Tensor;
      const [a, b] = saved;
      const ta = !!attrs?.transposeA;
      const tb = !!attrs?.transposeB;
      const rows = (attrs?.weightRows as number | undefined) ?? -1;
      // the four cases of y = op(a) op(b), as in TensorFlow's own BatchMatMul gradient
      if (!ta && !tb) return { a: () => mmFlags(d, b, false, true), b: () => mmFlags(a, d, true, false) };
      if (!ta && tb)
        return {
          a: () => mmFlags(d, b, false, false),
          b: () => mmFlags(firstRows(d, rows), firstRows(a, rows), true, false),
        };
      if (ta && !tb) return { a: () => mmFlags(b, d, false, true), b: () => mmFlags(a, d, false, false) };
      return { a: () => mmFlags(b, d, true, true), b: () => mmFlags(d, a, true, true) };
    },
  });
  mmtGradRegistered = true;
}

/**
 * Products whose every dimension (rows, inner, columns) is at least this run as libtensorflow's
 * 2-D `MatMul` op instead of `BatchMatMulV2`: 4–15% less CPU there (e.g. the vocabulary products
 * of a caption pass), while on smaller ones (rows ≤ 256) MatMul is up to 2× slower
 * (docs/model.md "Speed levers, measured").
 */
const MATMUL_2D_MIN = 512;
let matMul2d: boolean | undefined;
/** Whether big products use the 2-D MatMul op (tfjs-node); undefined: yes. For A/B timings. */
export function useMatMul2d(on?: boolean): void {
  matMul2d = on;
}

function ensureMmtKernel(): void {
  const backendName = tf.getBackend();
  if (mmtBackends.has(backendName)) return;
  const base = tf.getKernel('BatchMatMul', backendName);
  if (!base) throw new Error(`backend ${backendName} has no BatchMatMul kernel`);
  // libtensorflow's BatchMatMulV2 takes rank-2 operands as they are: no reshapes around it
  const kernelFunc: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const [n, k] = transposeA ? [a.shape[1], a.shape[0]] : a.shape;
    const m = transposeB ? b.shape[0] : b.shape[1];
    if (backendName !== 'tensorflow' || matMul2d === false || Math.min(n, k, m) < MATMUL_2D_MIN)
      return base.kernelFunc(args);
    const be = args.backend as unknown as NodeBackend & { binding: { TF_ATTR_BOOL: number } };
    const bool = (name: string, value: boolean) => ({ name, type: be.binding.TF_ATTR_BOOL, value });
    const T = { name: 'T', type: be.binding.TF_ATTR_TYPE, value: be.binding.TF_FLOAT };
    return be.executeSingleOutput('MatMul', [T, bool('transpose_a', transposeA), bool('transpose_b', transposeB)], [a, b]);
  };
  tf.registerKernel({ kernelName: MMT, backendName, kernelFunc });
  mmtBackends.add(backendName);
  registerMmtGradient();
}

/** op(a) @ op(b) for 2-D a, b, op = transpose where flagged (native backend only). `weightRows`: see mmNT. */
function mmFlags(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean, weightRows = -1): tf.Tensor2D {
  ensureMmtKernel();
  return tf.engine().runKernel(MMT, { a, b }, { transposeA, transposeB, weightRows }) as tf.Tensor2D;
}

/** The first `rows` rows of x (all of them when rows < 0 or ≥ x's rows). */
function firstRows(x: tf.Tensor, rows: number): tf.Tensor {
  const n = x.shape[0] as number;
  return rows < 0 || rows >= n ? x : tf.slice(x, 0, rows);
}

/**
 * The `WT` operand of mmNT / mmNN for a weight W: Wᵀ, off the tape, on wasm (see untrackedTranspose);
 * on the native backend, where those products read W with a transpose flag and never look at WT,
 * a clone (no copy in libtensorflow), so the caller owns and disposes a tensor of its own either way.
 */
export function mmOperand(W: tf.Tensor): tf.Tensor2D {
  return (nativeMatMul() ? tf.clone(W) : untrackedTranspose(W)) as tf.Tensor2D;
}

/**
 * a [1,n,k] · b [1,k,m], no flags: on wasm the big ones run on our own SIMD GEMM (wasm-gemm/:
 * faster than XNNPACK there), everything else on the backend's BatchMatMul.
 */
function plainProduct(
  base: tf.KernelConfig,
  backendName: string,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  backend: unknown,
): tf.TensorInfo {
  const own = backendName === 'wasm' ? wasmGemmProduct(a, b, backend) : undefined;
  const attrs = { transposeA: false, transposeB: false };
  return own ?? (base.kernelFunc({ inputs: { a, b }, backend: backend as never, attrs }) as tf.TensorInfo);
}

/**
 * mm is its own kernel ('PlumageMatMul', a plain BatchMatMul underneath) with a registered
 * gradient rather than a tf.customGrad: customGrad evaluates the gradients of ALL its inputs,
 * while a registered gradient is lazy per input, so e.g. the Grad-CAM backward (which needs
 * d/d(activations) but not d/d(weights)) does not pay for weight gradients.
 */
const MM = 'PlumageMatMul';
const mmBackends = new Set<string>();
let mmGradRegistered = false;

function ensureMmKernel(): void {
  const backendName = tf.getBackend();
  if (mmBackends.has(backendName)) return;
  const base = tf.getKernel('BatchMatMul', backendName);
  if (!base) throw new Error(`backend ${backendName} has no BatchMatMul kernel`);
  tf.registerKernel({
    kernelName: MM,
    backendName,
    kernelFunc: ({ inputs, backend }) => plainProduct(base, backendName, inputs.a!, inputs.b!, backend),
  });
  mmBackends.add(backendName);
  if (!mmGradRegistered) {
    tf.registerGradient({
      kernelName: MM,
      inputsToSave: ['a', 'b'],
      // d/da = dy b^T, d/db = a^T dy — explicit transposes (fast on wasm), through mm itself so
      // the gradient is differentiable again. Inputs are [1,n,k] and [1,k,m].
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as tf.Tensor;
        const g = d.reshape([d.shape[1] as number, d.shape[2] as number]);
        const [a, b] = saved;
        const a2 = a.reshape([a.shape[1] as number, a.shape[2] as number]);
        const b2 = b.reshape([b.shape[1] as number, b.shape[2] as number]);
        return {
          a: () => mm(g, t2(b2)).reshape(a.shape),
          b: () => mm(t2(a2), g).reshape(b.shape),
        };
      },
    });
    mmGradRegistered = true;
  }
}

/** a [n,k] @ b [k,m] with a fast, lazily evaluated, twice-differentiable gradient. */
export function mm(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const [n, k] = a.shape;
  const [k2, m] = b.shape;
  if (a.rank !== 2 || b.rank !== 2 || k !== k2) throw new Error(`mm: bad shapes [${a.shape}] x [${b.shape}]`);
  if (nativeMatMul()) return mmFlags(a, b, false, false);
  ensureMmKernel();
  const out = tf.engine().runKernel(MM, { a: a.reshape([1, n, k]), b: b.reshape([1, k, m]) }) as tf.Tensor;
  return out.reshape([n, m]);
}

/** aᵀ [k,n]ᵀ @ b [k,m] → [n,m] (e.g. a weight gradient summed over k rows): one flagged product on tfjs-node. */
export function mmTN(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[0] !== b.shape[0])
    throw new Error(`mmTN: bad shapes [${a.shape}]^T x [${b.shape}]`);
  return nativeMatMul() ? mmFlags(a, b, true, false) : mm(t2(a), b);
}

/**
 * W^T as a tensor the tape does not see (the Transpose kernel is called on the backend directly).
 * Only for use as the `WT` argument of mmNT, whose gradient is declared in terms of W itself.
 * Tracked by the enclosing tf.tidy like any other tensor.
 */
export function untrackedTranspose(W: tf.Tensor): tf.Tensor2D {
  const k = tf.getKernel('Transpose', tf.getBackend());
  if (!k) throw new Error('backend has no Transpose kernel');
  const out = k.kernelFunc({
    inputs: { x: W },
    backend: tf.backend(),
    attrs: { perm: [1, 0] },
  }) as tf.TensorInfo | tf.Tensor;
  // Two kernel conventions: wasm/cpu return a bare TensorInfo that still needs a Tensor around it;
  // tfjs-node returns a Tensor the engine already tracks, and wrapping that again would leak it.
  if (out instanceof tf.Tensor) return out as tf.Tensor2D;
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

const MMNT = 'PlumageMatMulNT';
const mmntBackends = new Set<string>();
let mmntGradRegistered = false;

function ensureMmNTKernel(): void {
  const backendName = tf.getBackend();
  if (mmntBackends.has(backendName)) return;
  const base = tf.getKernel('BatchMatMul', backendName)!;
  tf.registerKernel({
    kernelName: MMNT,
    backendName,
    // inputs a [1,n,k], w [m,k] (only saved for the gradient), wt [1,k,m] = w^T
    kernelFunc: ({ inputs, backend }) => plainProduct(base, backendName, inputs.a!, inputs.wt!, backend),
  });
  mmntBackends.add(backendName);
  if (!mmntGradRegistered) {
    tf.registerGradient({
      kernelName: MMNT,
      inputsToSave: ['a', 'w', 'wt'],
      // y = a w^T: da = dy w (mmNN: no transpose at all), dw = dy^T a (transposes the small dy).
      // wt is a constant to the tape (untrackedTranspose), so it never asks for a gradient.
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
        const d = dy as tf.Tensor;
        const g = d.reshape([d.shape[1] as number, d.shape[2] as number]);
        const [a, w, wt] = saved;
        const a2 = a.reshape([a.shape[1] as number, a.shape[2] as number]);
        const wt2 = wt.reshape([wt.shape[1] as number, wt.shape[2] as number]);
        const rows = (attrs?.weightRows as number | undefined) ?? -1;
        return {
          a: () => mmNN(g, w, wt2).reshape(a.shape),
          w: () => mm(t2(firstRows(g, rows)), firstRows(a2, rows)),
          wt: () => {
            throw new Error('mmNT: WT must come from untrackedTranspose');
          },
        };
      },
    });
    mmntGradRegistered = true;
  }
}

/**
 * a [n,k] @ W^T for W [m,k] (PyTorch Linear layout). The forward multiplies by WT = W^T (pass a
 * precomputed mmOperand(W) when W is reused, e.g. every LSTM step); the gradient is
 * written in terms of W, so it needs no transpose of the big matrix and is differentiable again.
 * On the native backend WT is not read: one product with a transpose flag.
 *
 * `weightRows` (default: all): only the first weightRows rows of a reach W's gradient, as if the
 * other rows were multiplied by a constant copy of W. Two batches then share one product while
 * only the first one trains W (the training step's ground-truth and greedy captions, algorithm1.ts).
 */
export function mmNT(a: tf.Tensor, W: tf.Tensor, WT?: tf.Tensor, weightRows = -1): tf.Tensor2D {
  const [n, k] = a.shape;
  const [m, k2] = W.shape;
  if (a.rank !== 2 || W.rank !== 2 || k !== k2)
    throw new Error(`mmNT: bad shapes [${a.shape}] x [${W.shape}]^T`);
  if (nativeMatMul()) return mmFlags(a, W, false, true, weightRows);
  ensureMmNTKernel();
  const wt = WT ?? untrackedTranspose(W);
  const out = tf
    .engine()
    .runKernel(MMNT, { a: a.reshape([1, n, k]), w: W, wt: wt.reshape([1, k, m]) }, { weightRows }) as tf.Tensor;
  return out.reshape([n, m]);
}

const MMNN = 'PlumageMatMulNN';
const mmnnBackends = new Set<string>();
let mmnnGradRegistered = false;

function ensureMmNNKernel(): void {
  const backendName = tf.getBackend();
  if (mmnnBackends.has(backendName)) return;
  const base = tf.getKernel('BatchMatMul', backendName)!;
  tf.registerKernel({
    kernelName: MMNN,
    backendName,
    // inputs g [1,n,m], w [1,m,k], wt [k,m] = w^T (only saved for the gradient)
    kernelFunc: ({ inputs, backend }) => plainProduct(base, backendName, inputs.g!, inputs.w!, backend),
  });
  mmnnBackends.add(backendName);
  if (!mmnnGradRegistered) {
    tf.registerGradient({
      kernelName: MMNN,
      inputsToSave: ['g', 'w', 'wt'],
      // z = g w: dg = dz w^T = mmNT(dz, w, wt) (uses the kept transpose), dw = g^T dz (small g).
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as tf.Tensor;
        const dz = d.reshape([d.shape[1] as number, d.shape[2] as number]);
        const [g, w, wt] = saved;
        const g2 = g.reshape([g.shape[1] as number, g.shape[2] as number]);
        const w2 = w.reshape([w.shape[1] as number, w.shape[2] as number]);
        return {
          g: () => mmNT(dz, w2, wt).reshape(g.shape),
          w: () => mm(t2(g2), dz).reshape(w.shape),
          wt: () => {
            throw new Error('mmNN: WT must come from untrackedTranspose');
          },
        };
      },
    });
    mmnnGradRegistered = true;
  }
}

/** g [n,m] @ W [m,k] where WT = W^T is also at hand (tape-invisible): the pair of mmNT. */
export function mmNN(g: tf.Tensor, W: tf.Tensor, WT: tf.Tensor): tf.Tensor2D {
  const [n, m] = g.shape;
  const [m2, k] = W.shape;
  if (g.rank !== 2 || W.rank !== 2 || m !== m2)
    throw new Error(`mmNN: bad shapes [${g.shape}] x [${W.shape}]`);
  if (nativeMatMul()) return mmFlags(g, W, false, false);
  ensureMmNNKernel();
  const out = tf
    .engine()
    .runKernel(MMNN, { g: g.reshape([1, n, m]), w: W.reshape([1, m, k]), wt: WT }) as tf.Tensor;
  return out.reshape([n, k]);
}

/** Dense layer in PyTorch layout: y = x W^T + b, W [out,in]. Pass `WT` = mmOperand(W) if reused. */
export function linear(x: tf.Tensor, W: tf.Tensor, b?: tf.Tensor, WT?: tf.Tensor): tf.Tensor2D {
  const y = mmNT(x, W, WT);
  return b ? tf.add(y, b) : y;
}

/**
 * y [n,m] + b [m] where only the first `weightRows` rows reach b's gradient (all when < 0), as
 * mmNT's weightRows. y's gradient is dy itself, so the op is differentiable to any order in y.
 */
export function addBias(y: tf.Tensor, b: tf.Tensor, weightRows = -1): tf.Tensor2D {
  if (weightRows < 0 || weightRows >= (y.shape[0] as number)) return tf.add(y, b) as tf.Tensor2D;
  return custom<tf.Tensor2D>((yi: unknown, bi: unknown) => ({
    value: tf.add(yi as tf.Tensor, bi as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => [tf.clone(dy), tf.sum(tf.slice(dy, 0, weightRows), 0)],
  }))(y, b);
}

/**
 * A copy of x's values that the tape knows nothing about (a new tensor, not an op on x): no
 * gradient flows back through it, not even zeros, which would still cost a backward pass.
 */
export function leaf<T extends tf.Tensor>(x: T): T {
  return tf.tensor(x.dataSync(), x.shape, x.dtype) as T;
}

/** Identity whose gradient is zero (a constant as far as the tape is concerned). */
export const stopGradient = custom<tf.Tensor>((x: unknown) => ({
  value: tf.clone(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/**
 * The gradients of σ and tanh from their output y, dy·y(1−y) and dy·(1−y²), as ONE libtensorflow
 * op each (SigmoidGrad, TanhGrad) on tfjs-node instead of three or four: the captioner's
 * second-order pass makes thousands of these small products. Registered with their own gradient
 * in y and dy (dy·(1−2y) and −2y·dy; linear in dy), so they are differentiable again.
 */
const ACT_GRAD = { sigmoid: 'PlumageSigmoidGrad', tanh: 'PlumageTanhGrad' } as const;
const TF_OP = { PlumageSigmoidGrad: 'SigmoidGrad', PlumageTanhGrad: 'TanhGrad' } as const;
let actGradRegistered = false;

interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: unknown[], inputs: tf.TensorInfo[]): tf.Tensor;
}

function ensureActGradKernels(): void {
  if (actGradRegistered) return;
  for (const [kernelName, op] of Object.entries(TF_OP)) {
    tf.registerKernel({
      kernelName,
      backendName: 'tensorflow',
      kernelFunc: ({ inputs, backend }) => {
        const b = backend as unknown as NodeBackend;
        const T = { name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT };
        return b.executeSingleOutput(op, [T], [inputs.y!, inputs.dy!]);
      },
    });
  }
  const second = (kernelName: string, dOut: (y: tf.Tensor) => tf.Tensor) =>
    tf.registerGradient({
      kernelName,
      inputsToSave: ['y', 'dy'],
      gradFunc: (g: tf.Tensor | tf.Tensor[], [y, dy]: tf.Tensor[]) => {
        const d = g as tf.Tensor;
        return { y: () => tf.mul(tf.mul(d, dy), dOut(y)), dy: () => actGrad(kernelName, y, d) };
      },
    });
  second(ACT_GRAD.sigmoid, (y) => tf.sub(1, tf.mul(y, 2)));
  second(ACT_GRAD.tanh, (y) => tf.mul(y, -2));
  actGradRegistered = true;
}

function actGrad(kernelName: string, y: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  ensureActGradKernels();
  return tf.engine().runKernel(kernelName, { y, dy }) as tf.Tensor;
}

/**
 * Whether σ and tanh take their gradients from the fused ops above; undefined: on tfjs-node only
 * (the only backend that has them; docs/model.md "Speed levers, measured").
 */
let fusedActGrads: boolean | undefined;
export function useFusedActivationGrads(on?: boolean): void {
  fusedActGrads = on;
}
const fusedActs = () => tf.getBackend() === 'tensorflow' && (fusedActGrads ?? true);

/** dy·y(1−y) for y = σ(x): σ's gradient from its output (one op on tfjs-node). */
export function sigmoidGradOf(y: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return fusedActs() ? actGrad(ACT_GRAD.sigmoid, y, dy) : tf.mul(dy, tf.mul(y, tf.sub(1, y)));
}

/** dy·(1−y²) for y = tanh(x): tanh's gradient from its output (one op on tfjs-node). */
export function tanhGradOf(y: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return fusedActs() ? actGrad(ACT_GRAD.tanh, y, dy) : tf.mul(dy, tf.sub(1, tf.square(y)));
}

/** σ(x) = 1/(1+e^{-x}); σ'(x) = σ(x)(1−σ(x)) recomputed from x. */
export const sigmoid: (x: tf.Tensor) => tf.Tensor = custom<tf.Tensor>((x: unknown, save: unknown) => {
  (save as (t: tf.Tensor[]) => void)([x as tf.Tensor]);
  return {
    value: tf.sigmoid(x as tf.Tensor),
    gradFunc: (dy: tf.Tensor, [xi]: tf.Tensor[]): tf.Tensor => {
      return sigmoidGradOf(sigmoid(xi), dy);
    },
  };
});

/** tanh(x); tanh'(x) = 1 − tanh²(x) recomputed from x. */
export const tanh: (x: tf.Tensor) => tf.Tensor = custom<tf.Tensor>((x: unknown, save: unknown) => {
  (save as (t: tf.Tensor[]) => void)([x as tf.Tensor]);
  return {
    value: tf.tanh(x as tf.Tensor),
    gradFunc: (dy: tf.Tensor, [xi]: tf.Tensor[]): tf.Tensor => {
      return tanhGradOf(tanh(xi), dy);
    },
  };
});

/** softmax along the last axis, as exp(logSoftmax(x)) built from the primitives above. */
export function softmax(x: tf.Tensor): tf.Tensor {
  return tf.exp(logSoftmax(x));
}

/** log Σ exp(x) along the last axis (keepDims), stable; gradient = softmax(x), from x and this lse. */
export const logSumExp: (x: tf.Tensor) => tf.Tensor = custom<tf.Tensor>((x: unknown, save: unknown) => {
  const xi = x as tf.Tensor;
  const m = tf.max(xi, -1, true);
  const value = tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(xi, m)), -1, true)));
  (save as (t: tf.Tensor[]) => void)([xi, value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, [xs, lse]: tf.Tensor[]) => tf.mul(dy, softmaxGiven(xs, lse)),
  };
});

/**
 * softmax(x) = exp(x − lse) for the lse of x already computed (a constant to the tape: no
 * recomputation of the [N,V] log-sum-exp in every backward pass). Its gradient is written out,
 * p ⊙ (dy − Σ dy ⊙ p), with p from this same function, so it is exact to any order.
 */
function softmaxGiven(x: tf.Tensor, lse: tf.Tensor): tf.Tensor {
  return custom<tf.Tensor>((xi: unknown, save: unknown) => {
    (save as (t: tf.Tensor[]) => void)([xi as tf.Tensor, lse]);
    return {
      value: tf.exp(tf.sub(xi as tf.Tensor, lse)),
      gradFunc: (dy: tf.Tensor, [xs, l]: tf.Tensor[]) => {
        const p = softmaxGiven(xs, l);
        return tf.mul(p, tf.sub(dy, tf.sum(tf.mul(dy, p), -1, true)));
      },
    };
  })(x);
}

/** log softmax along the last axis: x − logΣexp(x). Exact to any order. */
export function logSoftmax(x: tf.Tensor): tf.Tensor {
  return tf.sub(x, logSumExp(x));
}

/** Flat positions n·V + idx[n] of one column per row of an [N,V] matrix. */
function rowColumn(N: number, V: number, idx: tf.Tensor): tf.Tensor1D {
  return tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), idx.toInt()) as tf.Tensor1D;
}

/** The entries at flat positions `at` of x; gradient: scatterFlat, linear, so any order is exact. */
function gatherFlat(x: tf.Tensor, at: tf.Tensor1D): tf.Tensor1D {
  const shape = x.shape;
  return custom<tf.Tensor1D>((xi: unknown, save: unknown) => {
    (save as (t: tf.Tensor[]) => void)([at]);
    return {
      value: tf.gather((xi as tf.Tensor).reshape([-1]), at),
      gradFunc: (dy: tf.Tensor, [a]: tf.Tensor[]) => scatterFlat(dy, a as tf.Tensor1D, shape),
    };
  })(x);
}

/** A tensor of `shape`, zero but for the values v at flat positions `at`; gradient: gatherFlat. */
function scatterFlat(v: tf.Tensor, at: tf.Tensor1D, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return custom<tf.Tensor>((vi: unknown, save: unknown) => {
    (save as (t: tf.Tensor[]) => void)([at]);
    return {
      value: tf.scatterND(at.reshape([-1, 1]), vi as tf.Tensor, [n]).reshape(shape),
      gradFunc: (dy: tf.Tensor, [a]: tf.Tensor[]) => gatherFlat(dy, a as tf.Tensor1D),
    };
  })(v);
}

/**
 * log softmax(x)[n, idx[n]] for every row of x [N,V] ([N]): the picked logit minus the row's
 * log Σ exp, so no [N,V] log-probabilities or one-hot are made (a one-hot pick wrote ≈ 3 [N,V]
 * tensors forward and 3 back). Exact to any order (gatherFlat, logSumExp).
 */
export function pickLogSoftmax(x: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor1D {
  const [N, V] = x.shape;
  return tf.sub(gatherFlat(x, rowColumn(N, V, idx)), logSumExp(x).reshape([N])) as tf.Tensor1D;
}

/**
 * Embedding lookup rows W[ids] with a scatter-add gradient (tf.scatterND sums duplicate indices).
 * Avoids tf.gather's gradient (UnsortedSegmentSum), which the wasm backend lacks. `weightRows`:
 * only the first weightRows looked-up rows (ids flattened) reach W's gradient (as mmNT's).
 */
export function embed(W: tf.Tensor2D, ids: tf.Tensor, weightRows = -1): tf.Tensor2D {
  const flat = ids.reshape([-1]).toInt();
  const shape = W.shape;
  // ids go through `save`: a closure would be disposed before an outer (second-order) backward
  const f = custom<tf.Tensor2D>((w: unknown, save: unknown) => {
    (save as (t: tf.Tensor[]) => void)([flat]);
    return {
      value: tf.gather(w as tf.Tensor2D, flat),
      gradFunc: (dy: tf.Tensor, [idx]: tf.Tensor[]) =>
        tf.scatterND(firstRows(idx, weightRows).reshape([-1, 1]), firstRows(dy, weightRows), shape),
    };
  });
  return f(W);
}
