/**
 * The joint model of docs/design.md: The model in TF.js, parameter names and layouts as PyTorch (docs/design.md: Weights interop with PyTorch):
 *   v = mean_{h,w} A;  f_medi: h = relu(v W_m^T + b_m);  f_class: logits = h W_c^T + b_c;
 *   f_caption (LRCN): x_t = [embed(w_t); feat], one LSTM layer (gates i,f,g,o, bias_ih + bias_hh),
 *   h0 = c0 = 0, p_t = softmax(s_t W_o^T + b_o).
 * Variants: cnn (v → f_class), lrcn (captioner fed v), medi (full, no L_cam), cam (full + λ·L_cam).
 *
 * Layout here: feature maps A are NHWC [B,H,W,K] (TF.js's native layout); weights are exactly the
 * PyTorch tensors. Every function takes a parameter view `P` (name → tensor), so the same code runs
 * on tf.Variables, on imported tensors, or on detached copies (see algorithm1.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { mixSeed, mulberry32 } from '../util/rng.ts';
import { lstmLayer, secondOrderLayerSupported } from './lstm.ts';
import { addBias, embed, linear, logSoftmax, mmNT, mmOperand, pickLogSoftmax, sigmoid, tanh } from './ops.ts';
import { invalidRequest } from '../util/errors.ts';
import { type RepeatUnit, ownLoopUnlikelihood, unlikelihoodSum } from './unlikelihood.ts';
import { type ScheduledSampling, ownGuessInputs } from './scheduled-sampling.ts';
import { type SelfCritical, selfCriticalSum } from './self-critical.ts';
import type { Variant } from '../../shared/types.ts';

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const UNK = 3;
export const FIRST_WORD = 4;

export interface ModelDims {
  /** encoder channels */ K: number;
  /** f_medi width */ D: number;
  /** word embedding */ E: number;
  /** LSTM units */ Hd: number;
  /** vocabulary */ V: number;
  /** classes */ C: number;
}
export type { Variant };
export const VARIANTS: Variant[] = ['cnn', 'lrcn', 'medi', 'cam'];
/** Parameters by PyTorch name. */
export type Params = Record<string, tf.Variable>;
/** Any name → tensor view of the parameters (Variables, imported tensors, detached copies). */
export type ParamView = Record<string, tf.Tensor>;

export const hasMedi = (v: Variant) => v === 'medi' || v === 'cam';
export const hasCls = (v: Variant) => v !== 'lrcn';
export const hasCap = (v: Variant) => v !== 'cnn';
/** Width of the feature the classifier and captioner see: D with f_medi, else K. */
export const featWidth = (v: Variant, d: ModelDims) => (hasMedi(v) ? d.D : d.K);

/** Parameter shapes of a variant, PyTorch names and layout (docs/design.md: Weights interop with PyTorch). */
export function paramShapes(variant: Variant, d: ModelDims): Record<string, number[]> {
  const F = featWidth(variant, d);
  const s: Record<string, number[]> = {};
  if (hasMedi(variant)) {
    s['medi.weight'] = [d.D, d.K];
    s['medi.bias'] = [d.D];
  }
  if (hasCls(variant)) {
    s['cls.weight'] = [d.C, F];
    s['cls.bias'] = [d.C];
  }
  if (hasCap(variant)) {
    s['cap.embed.weight'] = [d.V, d.E];
    s['cap.lstm.weight_ih_l0'] = [4 * d.Hd, d.E + F];
    s['cap.lstm.weight_hh_l0'] = [4 * d.Hd, d.Hd];
    s['cap.lstm.bias_ih_l0'] = [4 * d.Hd];
    s['cap.lstm.bias_hh_l0'] = [4 * d.Hd];
    s['cap.out.weight'] = [d.V, d.Hd];
    s['cap.out.bias'] = [d.V];
  }
  return s;
}

/** Deterministic PRNG (mulberry32) so a seed gives the same weights on every backend; seed 0 is remapped. */
export function rng(seed: number): () => number {
  return mulberry32(seed >>> 0 || 0x9e3779b9);
}

/**
 * PyTorch-like initialisation, seeded: Linear U(±1/√fan_in), nn.LSTM U(±1/√Hd), Embedding N(0,1).
 * Names follow paramShapes order, so the same seed always gives the same values.
 */
export function initParams(variant: Variant, dims: ModelDims, seed: number): Params {
  const r = rng(seed);
  const shapes = paramShapes(variant, dims);
  const F = featWidth(variant, dims);
  const out: Params = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name === 'cap.embed.weight') {
      for (let i = 0; i < n; i += 2) {
        // Box–Muller: two normals per two uniforms
        const u1 = Math.max(r(), 1e-12);
        const u2 = r();
        const m = Math.sqrt(-2 * Math.log(u1));
        data[i] = m * Math.cos(2 * Math.PI * u2);
        if (i + 1 < n) data[i + 1] = m * Math.sin(2 * Math.PI * u2);
      }
    } else {
      const fanIn = name.startsWith('cap.') ? dims.Hd : name.startsWith('medi.') ? dims.K : F;
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * bound;
    }
    // tidy: the initial-value tensor is a separate tensor that would outlive the variable's dispose
    out[name] = tf.tidy(() => tf.variable(tf.tensor(data, shape, 'float32'), true));
  }
  return out;
}

/** Which variant a set of tensor names is: medi.* present → cam (the full model). */
export function inferVariant(names: Iterable<string>): Variant {
  const s = new Set(names);
  const medi = s.has('medi.weight');
  const cls = s.has('cls.weight');
  const cap = s.has('cap.embed.weight');
  if (medi && cls && cap) return 'cam';
  if (!medi && cls && !cap) return 'cnn';
  if (!medi && !cls && cap) return 'lrcn';
  throw invalidRequest(`cannot infer the model variant from tensors: ${[...s].sort().join(', ')}`);
}

/** Dimensions read off the parameter shapes (K/D/E/Hd/V/C; absent ones are 0). */
export function inferDims(P: ParamView, variant: Variant): ModelDims {
  const sh = (n: string): number[] => (P[n]?.shape as number[]) ?? [];
  const d: ModelDims = { K: 0, D: 0, E: 0, Hd: 0, V: 0, C: 0 };
  if (hasMedi(variant)) [d.D, d.K] = sh('medi.weight');
  if (hasCls(variant)) {
    d.C = sh('cls.weight')[0];
    if (!hasMedi(variant)) d.K = sh('cls.weight')[1];
  }
  if (hasCap(variant)) {
    [d.V, d.E] = sh('cap.embed.weight');
    d.Hd = sh('cap.lstm.weight_hh_l0')[1];
    if (!hasMedi(variant)) d.K = sh('cap.lstm.weight_ih_l0')[1] - d.E;
  }
  return d;
}

/** The width of the captioner's image feature (h, or v for lrcn): its LSTM input less the word embedding. */
export function captionerFeatureWidth(P: ParamView): number {
  return P['cap.lstm.weight_ih_l0'].shape[1]! - P['cap.embed.weight'].shape[1]!;
}

/** Checks that every parameter of the variant is present with the contract's shape. */
export function checkParams(P: ParamView, variant: Variant, dims: ModelDims): void {
  for (const [name, shape] of Object.entries(paramShapes(variant, dims))) {
    const t = P[name];
    if (!t) throw invalidRequest(`missing parameter ${name}`);
    if (t.shape.join(',') !== shape.join(','))
      throw invalidRequest(`parameter ${name} has shape [${t.shape}], expected [${shape}]`);
  }
}

/** Variables from plain tensors (e.g. read from safetensors). */
export function paramsFromTensors(tensors: Record<string, tf.Tensor>, variant?: Variant) {
  const v = variant ?? inferVariant(Object.keys(tensors));
  const dims = inferDims(tensors, v);
  checkParams(tensors, v, dims);
  const params: Params = {};
  for (const name of Object.keys(paramShapes(v, dims)))
    params[name] = tf.tidy(() => tf.variable(tensors[name].toFloat(), true));
  return { params, variant: v, dims };
}

/** Parameters as plain arrays in PyTorch layout, ready for writeSafetensors (export). */
export function paramsToArrays(
  P: ParamView,
): Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> {
  const out: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [n, t] of Object.entries(P))
    out[n] = { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array };
  return out;
}

// ---------------------------------------------------------------------------------------------
// forward pieces

/** v = spatial mean of NHWC maps [B,H,W,K] → [B,K]. */
export function pooled(A: tf.Tensor): tf.Tensor2D {
  return tf.mean(A, [1, 2]) as tf.Tensor2D;
}

/** f_medi: returns the pre-activation too (its ReLU pattern matters to Grad-CAM). */
export function medi(P: ParamView, v: tf.Tensor): { pre: tf.Tensor2D; h: tf.Tensor2D } {
  const pre = linear(v, P['medi.weight'], P['medi.bias']);
  return { pre, h: tf.relu(pre) };
}

/** The feature the heads see: h = f_medi(v) for medi/cam, v itself for cnn/lrcn. */
export function feature(P: ParamView, variant: Variant, v: tf.Tensor): tf.Tensor2D {
  return hasMedi(variant) ? medi(P, v).h : (v as tf.Tensor2D);
}

export function classify(P: ParamView, feat: tf.Tensor): tf.Tensor2D {
  return linear(feat, P['cls.weight'], P['cls.bias']);
}

/**
 * Captioner weights prepared once per call: the W_ih column blocks, their mmNT operands (the
 * transposes as tape-invisible constants on wasm, the weights themselves on tfjs-node; see
 * ops.ts), summed biases.
 */
export interface CapPrep {
  E: number;
  Hd: number;
  V: number;
  We: tf.Tensor2D; // [4Hd, E]  embedding columns of W_ih
  WeT: tf.Tensor2D;
  Wf: tf.Tensor2D; // [4Hd, F]  feature columns of W_ih
  WfT: tf.Tensor2D;
  bias: tf.Tensor1D; // [4Hd]   b_ih + b_hh
  Whh: tf.Tensor2D; // [4Hd, Hd]
  WhhT: tf.Tensor2D;
  Wo: tf.Tensor2D; // [V, Hd]
  WoT: tf.Tensor2D;
  embedW: tf.Tensor2D; // [V, E]
  outB: tf.Tensor1D; // [V]
  /**
   * Teacher forcing only: the batch rows, from the first, whose gradient reaches the weights
   * (the others see them as constants; ops.ts mmNT); all rows when absent.
   */
  weightRows?: number;
}

export function capPrep(P: ParamView, weightRows?: number): CapPrep {
  const Wemb = P['cap.embed.weight'] as tf.Tensor2D;
  const [V, E] = Wemb.shape;
  const Wih = P['cap.lstm.weight_ih_l0'] as tf.Tensor2D;
  const Hd = P['cap.lstm.weight_hh_l0'].shape[1] as number;
  const F = Wih.shape[1] - E;
  // one split, not two slices: its gradient is one concat, where each slice's was a pad to the
  // whole [4Hd, E+F] matrix and the two were then added
  const [We, Wf] = tf.split(Wih, [E, F], 1) as tf.Tensor2D[];
  const Whh = P['cap.lstm.weight_hh_l0'] as tf.Tensor2D;
  const Wo = P['cap.out.weight'] as tf.Tensor2D;
  return {
    E,
    Hd,
    V,
    We,
    WeT: mmOperand(We),
    Wf,
    WfT: mmOperand(Wf),
    bias: tf.add(P['cap.lstm.bias_ih_l0'], P['cap.lstm.bias_hh_l0']) as tf.Tensor1D,
    Whh,
    WhhT: mmOperand(Whh),
    Wo,
    WoT: mmOperand(Wo),
    embedW: Wemb,
    outB: P['cap.out.bias'] as tf.Tensor1D,
    weightRows,
  };
}

/** Rows of a teacher-forced tensor with `per` rows per image that train the weights (-1: all). */
const trainedRows = (cp: CapPrep, per = 1) => (cp.weightRows === undefined ? -1 : cp.weightRows * per);

/** The part of the gates that is the same at every step: feat W_f^T + b_ih + b_hh  [B,4Hd]. */
export function featureGates(cp: CapPrep, feat: tf.Tensor): tf.Tensor2D {
  return addBias(mmNT(feat, cp.Wf, cp.WfT, trainedRows(cp)), cp.bias, trainedRows(cp));
}

/**
 * One LSTM step (PyTorch nn.LSTM gate order i, f, g, o). xg = input part of the gates; `fg`: a
 * second input part (the feature's, the same at every step), summed with the others in one op.
 */
export function lstmStep(cp: CapPrep, xg: tf.Tensor, s: tf.Tensor | null, c: tf.Tensor | null, fg?: tf.Tensor) {
  const parts = [xg, ...(fg ? [fg] : []), ...(s ? [mmNT(s, cp.Whh, cp.WhhT, trainedRows(cp))] : [])];
  const g = parts.length === 1 ? xg : tf.addN(parts);
  const [gi, gf, gg, go] = tf.split(g, 4, 1);
  const i = sigmoid(gi);
  const f = sigmoid(gf);
  const gc = tanh(gg);
  const o = sigmoid(go);
  const c2 = c ? tf.add(tf.mul(f, c), tf.mul(i, gc)) : tf.mul(i, gc);
  const s2 = tf.mul(o, tanh(c2));
  return { s: s2, c: c2 };
}

/**
 * Training-only dropout of the captioner (beyond the contract): the word embeddings and the LSTM
 * outputs are dropped at `rate` and the rest scaled by 1/(1 − rate), so inference, which never
 * drops, sees the same expected values. Seeded, so a step is reproducible.
 */
export interface CaptionDropout {
  rate: number;
  seed: number;
}

function dropped(x: tf.Tensor2D, d: CaptionDropout | undefined, stream: number): tf.Tensor2D {
  return d && d.rate > 0 ? (tf.dropout(x, d.rate, undefined, mixSeed(d.seed, stream)) as tf.Tensor2D) : x;
}

/**
 * Whether L_caption's own pass runs the LSTM as one layer with a hand-written backward pass
 * (lstm.ts); undefined: on tfjs-node only, where it pays (docs/model.md, "Speed levers, measured").
 */
let fusedLstm: boolean | undefined;
export function useFusedLstm(on?: boolean): void {
  fusedLstm = on;
}

/**
 * Whether a pass whose gradient is differentiated again (the Grad-CAM of a training step) runs
 * the LSTM as lstm.ts's layer too, whose second-order pass is hand-written; undefined: on
 * tfjs-node for passes whose gate pre-activations [rows, T, 4Hd] have at most
 * SECOND_ORDER_LAYER_ELEMENTS entries (docs/model.md "A hand-written second-order LSTM pass": it
 * saves the JavaScript thread's dispatch of small kernels, but works on whole-sequence tensors,
 * which at the paper's widths and 256 rows cost more CPU than they save).
 */
let secondOrderLstm: boolean | undefined;
export function useSecondOrderLstm(on?: boolean): void {
  secondOrderLstm = on;
}
/** cam B=32 at the paper's widths: 64 rows × 19 steps × 4096 ≈ 5.0 M. */
const SECOND_ORDER_LAYER_ELEMENTS = 6_000_000;

/** Whether teacher forcing runs lstm.ts's layer on gates [rows, T, 4Hd] (see useFusedLstm, useSecondOrderLstm). */
function layerLstm(firstOrder: boolean, gates: number[]): boolean {
  const native = tf.getBackend() === 'tensorflow';
  if (firstOrder) return fusedLstm ?? native;
  if (!secondOrderLayerSupported()) return false;
  return secondOrderLstm ?? (native && gates.reduce((a, b) => a * b, 1) <= SECOND_ORDER_LAYER_ELEMENTS);
}

/**
 * Teacher forcing: input captions[:, t], predicting captions[:, t+1], t = 0..T-2.
 * Returns word logits [B*(T-1), V] (row b*(T-1)+t). `dropout` and other `inputs` [B,T-1] than
 * captions[:, :T-1] only while training. `firstOrder`:
 * the result is differentiated at most once (L_caption's own pass); which passes run the LSTM as
 * lstm.ts's layer rather than step by step is set per kind (useFusedLstm, useSecondOrderLstm).
 */
export function teacherForced(
  cp: CapPrep,
  feat: tf.Tensor,
  caps: tf.Tensor2D,
  dropout?: CaptionDropout,
  firstOrder = false,
  inputs?: tf.Tensor2D,
): tf.Tensor2D {
  const [B, T] = caps.shape;
  const inTok = inputs ?? tf.slice(caps, [0, 0], [B, T - 1]);
  // rows are image-major (row b·(T−1)+t), so an image's rows train the weights or none of them do
  const perStep = trainedRows(cp, T - 1);
  const emb = dropped(embed(cp.embedW, inTok, perStep), dropout, 0);
  const xe = mmNT(emb, cp.We, cp.WeT, perStep).reshape([B, T - 1, 4 * cp.Hd]);
  const fg = featureGates(cp, feat);
  const states = layerLstm(firstOrder, xe.shape)
    ? lstmLayer(tf.add(xe, tf.expandDims(fg, 1)) as tf.Tensor3D, cp.Whh, trainedRows(cp))
    : stepwiseStates(cp, xe, fg);
  const S = dropped(states.reshape([B * (T - 1), cp.Hd]), dropout, 1);
  return addBias(mmNT(S, cp.Wo, cp.WoT, perStep), cp.outB, perStep);
}

/** The LSTM step by step from twice-differentiable ops: states [B,T−1,Hd]. */
function stepwiseStates(cp: CapPrep, xe: tf.Tensor, fg: tf.Tensor2D): tf.Tensor3D {
  let s: tf.Tensor | null = null;
  let c: tf.Tensor | null = null;
  const states: tf.Tensor[] = [];
  // the feature part is added per step: its gradient then sums [B,4Hd] step gradients instead of
  // scattering T−1 slices of a [B,T−1,4Hd] tensor
  for (const xt of tf.unstack(xe, 1)) {
    ({ s, c } = lstmStep(cp, xt, s, c, fg));
    states.push(s);
  }
  return tf.stack(states, 1) as tf.Tensor3D;
}

/**
 * Log-probability of each target under label smoothing ε (training only, beyond the contract):
 * Σ_k q_k log p_k with q = (1 − ε)·one-hot + ε/K; ε = 0 is the plain log-prob of the target.
 */
function targetLogprob(logits: tf.Tensor2D, target: tf.Tensor1D, smoothing: number): tf.Tensor1D {
  const pick = pickLogSoftmax(logits, target);
  if (!(smoothing > 0)) return pick;
  return tf.add(tf.mul(pick, 1 - smoothing), tf.mul(tf.mean(logSoftmax(logits), 1), smoothing)) as tf.Tensor1D;
}

/**
 * Target-token log-probs [B,T-1] and the non-PAD mask [B,T-1] for word logits [B*(T-1),V]
 * (`smoothing`: label smoothing ε, training only).
 */
export function tokenLogprobs(wordLogits: tf.Tensor2D, caps: tf.Tensor2D, smoothing = 0) {
  const [B, T] = caps.shape;
  const tgt = tf
    .slice(caps, [0, 1], [B, T - 1])
    .reshape([-1])
    .toInt() as tf.Tensor1D;
  const tok = targetLogprob(wordLogits, tgt, smoothing).reshape([B, T - 1]);
  const mask = tf
    .notEqual(tgt, PAD)
    .toFloat()
    .reshape([B, T - 1]);
  return { tok, mask };
}

/** Captioner score per image: Σ of target-token log-probs under teacher forcing, pads excluded. */
export function captionScores(
  cp: CapPrep,
  feat: tf.Tensor,
  caps: tf.Tensor2D,
  weights?: tf.Tensor,
): tf.Tensor1D {
  const { tok, mask } = tokenLogprobs(teacherForced(cp, feat, caps), caps);
  return tf.sum(tf.mul(tok, weights ? tf.mul(mask, weights) : mask), 1) as tf.Tensor1D;
}

/** Classifier score per image: the logit of the given class. */
export function classScores(P: ParamView, feat: tf.Tensor, classes: tf.Tensor): tf.Tensor1D {
  const logits = classify(P, feat);
  return tf.sum(tf.mul(logits, tf.oneHot(classes.toInt(), logits.shape[1])), 1) as tf.Tensor1D;
}

/** L_class: mean softmax cross-entropy (`smoothing`: label smoothing ε, training only). */
export function classLoss(logits: tf.Tensor2D, labels: tf.Tensor, smoothing = 0): tf.Scalar {
  return tf.neg(tf.mean(targetLogprob(logits, labels.toInt() as tf.Tensor1D, smoothing)));
}

/** Training-only changes to L_caption; none of them is part of the contract model. */
export interface CaptionTraining {
  dropout?: CaptionDropout;
  /** Label smoothing ε of each target word. */
  smoothing?: number;
  /** Weight α of the token-level unlikelihood of repeats of what the caption already wrote (unlikelihood.ts). */
  unlikelihood?: number;
  /** What counts as a repeat there: any earlier word (default) or an earlier bigram's continuation. */
  unlikelihoodOf?: RepeatUnit;
  /** Feed a share of the captioner's own guesses instead of reference words (scheduled-sampling.ts). */
  sampling?: ScheduledSampling;
  /** Weight of the unlikelihood of the loops in the captioner's own greedy captions (unlikelihood.ts). */
  loopUnlikelihood?: number;
  /** Self-critical training on sampled captions (self-critical.ts), with each row's references [B,R,T]. */
  selfCritical?: SelfCritical & { references: tf.Tensor3D };
}

/**
 * L_caption: mean cross-entropy over all non-PAD target tokens of the batch (plus, while training,
 * the unlikelihood of repeated words where asked). Differentiated once
 * (training), so its LSTM may be lstm.ts's layer (teacherForced's `firstOrder`).
 */
export function captionLoss(cp: CapPrep, feat: tf.Tensor, caps: tf.Tensor2D, training: CaptionTraining = {}): tf.Scalar {
  const inputs = training.sampling && training.sampling.rate > 0 ? ownGuessInputs(cp, feat, caps, training.sampling) : undefined;
  const logits = teacherForced(cp, feat, caps, training.dropout, true, inputs);
  const { tok, mask } = tokenLogprobs(logits, caps, training.smoothing);
  const crossEntropy = tf.neg(tf.sum(tf.mul(tok, mask)));
  const alpha = training.unlikelihood ?? 0;
  const loops = training.loopUnlikelihood ?? 0;
  // every term shares L_caption's divisor, the references' non-PAD target words, so a batch's
  // slices add up to the whole batch's loss
  let total: tf.Tensor = crossEntropy;
  if (alpha > 0) total = tf.add(total, tf.mul(unlikelihoodSum(logits, caps, training.unlikelihoodOf), alpha));
  if (loops > 0) total = tf.add(total, tf.mul(ownLoopUnlikelihood(cp, feat, caps.shape[1]), loops));
  const sc = training.selfCritical;
  if (sc && sc.weight > 0) total = tf.add(total, tf.mul(selfCriticalSum(cp, feat, sc.references, caps.shape[1], sc), sc.weight));
  return tf.div(total, tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/** A row [V] to add to word logits so that an argmax never picks PAD or BOS. */
export function padBosBan(V: number): tf.Tensor1D {
  return tf.tensor1d(Array.from({ length: V }, (_, i) => (i === PAD || i === BOS ? -Infinity : 0)), 'float32');
}

/** Greedy decode (contract): from BOS, T−1 steps, argmax without PAD/BOS, PAD after EOS. [B,T] int32. */
export function greedyDecode(P: ParamView, feat: tf.Tensor, T: number): tf.Tensor2D {
  return tf.tidy(() => greedyCaptions(capPrep(P), feat, T));
}

/** greedyDecode on prepared captioner weights (also what training's own-caption terms decode with). */
export function greedyCaptions(cp: CapPrep, feat: tf.Tensor, T: number): tf.Tensor2D {
  return stepwiseCaptions(cp, feat, T, (logits) => tf.argMax(logits, 1).toInt() as tf.Tensor1D);
}

/**
 * Captions [B,T] written word by word from BOS, T−1 steps, `pick` choosing each next word from
 * the step's word logits [B,V] (PAD and BOS banned: −∞); PAD after EOS.
 */
export function stepwiseCaptions(
  cp: CapPrep,
  feat: tf.Tensor,
  T: number,
  pick: (logits: tf.Tensor2D) => tf.Tensor1D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const B = feat.shape[0];
    const fg = featureGates(cp, feat);
    // the output bias and the ban in one row, added once per step
    const outBan = tf.add(cp.outB, padBosBan(cp.V));
    let tok = tf.fill([B], BOS, 'int32') as tf.Tensor1D;
    let done = tf.zeros([B], 'bool') as tf.Tensor1D;
    const out: tf.Tensor1D[] = [tok];
    let s: tf.Tensor | null = null;
    let c: tf.Tensor | null = null;
    for (let t = 0; t < T - 1; t++) {
      ({ s, c } = lstmStep(cp, mmNT(embed(cp.embedW, tok), cp.We, cp.WeT), s, c, fg));
      const logits = tf.add(mmNT(s, cp.Wo, cp.WoT), outBan) as tf.Tensor2D;
      const next = tf.where(done, tf.zerosLike(tok), pick(logits)) as tf.Tensor1D;
      out.push(next);
      done = tf.logicalOr(done, tf.equal(next, EOS)) as tf.Tensor1D;
      tok = next;
    }
    return tf.stack(out, 1) as tf.Tensor2D;
  });
}

export interface Prediction {
  /** [B,C] (absent for lrcn) */ logits?: tf.Tensor2D;
  /** [B,C] softmax */ probs?: tf.Tensor2D;
  /** [B,T] int32 greedy captions incl. BOS (absent for cnn) */ captions?: tf.Tensor2D;
}

/** Inference: logits/probs and greedy captions from NHWC maps [B,H,W,K] or pooled v [B,K]. */
export function predict(
  P: ParamView,
  variant: Variant,
  input: tf.Tensor,
  opts: { T?: number } = {},
): Prediction {
  return tf.tidy(() => {
    const v = input.rank === 4 ? pooled(input) : (input as tf.Tensor2D);
    const feat = feature(P, variant, v);
    const out: Prediction = {};
    if (hasCls(variant)) {
      out.logits = classify(P, feat);
      out.probs = tf.softmax(out.logits);
    }
    if (hasCap(variant)) out.captions = greedyDecode(P, feat, opts.T ?? 20);
    return out as unknown as tf.TensorContainer;
  }) as unknown as Prediction;
}

