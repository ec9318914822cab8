/**
 * Paper Algorithm 1 gradients for one batch:
 *   cls.* ← ∇L_class,  cap.* ← ∇L_caption,  medi.* ← ∇(L_class + L_caption + λ·L_cam [+ μ·L_mask]).
 *
 * One backward pass gives all of them: the CAM terms are computed with DETACHED copies of the
 * classifier and captioner weights (tf.clone outside the tape shares the data but is a different
 * tensor, so the tape sees no path from the cls / cap weights to L_cam), while f_medi is the live one. The
 * Grad-CAM alphas are an inner tf.grad inside the outer one, so ∇L_cam w.r.t. medi.* is the exact
 * second-order gradient (see gradcam.ts and the finite-difference tests).
 *
 * When a CAM term is on, the ground-truth caption's Grad-CAM pass (teacher-forced forward and
 * first backward) also yields L_caption and its gradients, so the step does not run the captioner
 * a second time for L_caption (sharedCaptionTerm).
 */
import * as tf from '@tensorflow/tfjs';
import { camMaps, captionAlphasWithGrads, gradCamAlphas, type ScoreRequest } from './gradcam.ts';
import { leaf, stopGradient } from './ops.ts';
import { mixSeed } from '../util/rng.ts';
import { camLoss, maskLoss } from './losses.ts';
import type { RepeatUnit } from './unlikelihood.ts';
import type { ScheduledSampling } from './scheduled-sampling.ts';
import type { SelfCritical } from './self-critical.ts';
import {
  type CaptionDropout,
  PAD,
  type ParamView,
  type Variant,
  capPrep,
  captionLoss,
  classLoss,
  classify,
  feature,
  greedyDecode,
  hasCap,
  hasCls,
  hasMedi,
  pooled,
} from './model.ts';

export interface Batch {
  /** NHWC feature maps [B,H,W,K]; needed for CAM terms (cam variant, masks). */
  A?: tf.Tensor4D;
  /** pooled features [B,K]; enough for cnn/lrcn/medi (computed from A when absent). */
  v?: tf.Tensor2D;
  /** [B] int32 class ids */
  labels: tf.Tensor1D;
  /** [B,T] int32: BOS words EOS PAD… */
  captions: tf.Tensor2D;
  /** painted masks [B,H,W] (rows without a mask are ignored, see maskRows) */
  masks?: tf.Tensor3D;
  /** [B] 1 where the image has a mask, else 0 */
  maskRows?: tf.Tensor1D;
  /** [B,R,T] int32: every reference caption of each row's image (all-PAD rows pad R); self-critical training only */
  references?: tf.Tensor3D;
}

export interface StepOptions {
  /** weight of L_cam (cam variant only); default 1 */
  lambda?: number;
  /** weight of the mask term (medi/cam with masks); default 0 */
  mu?: number;
  /** hold pred class / pred caption fixed (tests, inspect); default argmax / greedy decode */
  classPred?: tf.Tensor1D;
  predCaptions?: tf.Tensor2D;
  /** 'all' (Algorithm 1, default) or 'cam': only λ·L_cam + μ·L_mask, gradients of medi.* only */
  terms?: 'all' | 'cam';
  /** process the batch in slices of this many rows (exact same gradients, less memory) */
  microBatch?: number;
  /**
   * take L_caption from the ground-truth caption's Grad-CAM pass where possible (sharesCaption);
   * default on (docs/model.md, "Speed levers, measured"); off runs L_caption's own pass
   */
  shareCaptionPass?: boolean;
  /** training-only regularisation of L_class and L_caption (never of the CAM terms); default none */
  regularise?: Regularisation;
  /**
   * Which Grad-CAMs L_cam may move (beyond the contract, a training option): 'both' (eq. 6, the
   * default), 'class' = the classifier's CAMs are a fixed target, so L_cam moves f_medi only
   * through the captioner's CAMs, towards the classifier's; 'caption' the reverse.
   */
  camTarget?: CamTarget;
  /** weight of L_class in the objective (a training option; default 1) */
  classWeight?: number;
  /**
   * this batch is a part of a larger one (data parallelism over workers): every term is weighted
   * by the part's share of the whole, and the losses returned are the part's contributions, so
   * the parts' gradients and losses sum to the whole batch's
   */
  share?: BatchShare;
}

export const CAM_TARGETS = ['both', 'class', 'caption'] as const;
export type CamTarget = (typeof CAM_TARGETS)[number];

/** Which Grad-CAMs L_cam holds fixed: none, the classifier's or the captioner's. */
function heldCams(o: StepOptions): { cls: boolean; cap: boolean } {
  const t = o.camTarget ?? 'both';
  if (!CAM_TARGETS.includes(t)) throw new Error(`camTarget must be one of ${CAM_TARGETS.join(', ')}, got '${t}'`);
  return { cls: t === 'class', cap: t === 'caption' };
}

/** L_cam of the four maps; a side held fixed is a constant to the tape (its value is unchanged). */
function camTerm(o: StepOptions, clsGt: tf.Tensor, capGt: tf.Tensor, clsPred: tf.Tensor, capPred: tf.Tensor): tf.Scalar {
  const held = heldCams(o);
  const cls = (x: tf.Tensor) => (held.cls ? stopGradient(x) : x);
  const cap = (x: tf.Tensor) => (held.cap ? stopGradient(x) : x);
  return camLoss({ cam_cls_pred: cls(clsPred), cam_cls_gt: cls(clsGt), cam_cap_gt: cap(capGt), cam_cap_pred: cap(capPred) });
}

/** Where a part sits in the whole batch: its first row, and the whole's rows and target tokens. */
export interface BatchShare {
  offset: number;
  rows: number;
  /** non-PAD target tokens (caption positions 1…T−1) of the whole batch, L_caption's divisor */
  tokens: number;
}

/** Beyond the contract: options of training that leave the model and inference as they are. */
export interface Regularisation {
  /** Label smoothing ε of L_class. */
  classSmoothing?: number;
  /** Label smoothing ε of L_caption. */
  captionSmoothing?: number;
  /** Weight of the unlikelihood of repeats of what a caption already wrote, inside L_caption (unlikelihood.ts). */
  unlikelihood?: number;
  /** What counts as a repeat there: earlier words (default) or earlier bigrams. */
  unlikelihoodOf?: RepeatUnit;
  /** Feed L_caption's pass a share of the captioner's own guesses instead of reference words (scheduled-sampling.ts). */
  sampling?: ScheduledSampling;
  /** Weight of the unlikelihood of the loops of the captioner's own greedy captions, inside L_caption (unlikelihood.ts). */
  loopUnlikelihood?: number;
  /** Self-critical training on sampled captions, inside L_caption (self-critical.ts; needs batch.references). */
  selfCritical?: SelfCritical;
  /** Dropout on the word embeddings and LSTM outputs of L_caption's forward pass, seeded. */
  dropout?: CaptionDropout;
  /** Dropout on the shared layer's output h as the classifier's input, inside L_class only (medi/cam; seeded). */
  classDropout?: CaptionDropout;
}

export interface Losses {
  class: number;
  caption: number;
  cam: number;
  mask: number;
  /** L_class + L_caption + λ·L_cam + μ·L_mask (the f_medi objective; L_class times classWeight where set) */
  total: number;
}

export interface StepResult {
  losses: Losses;
  /** per parameter name; the caller disposes them */
  grads: Record<string, tf.Tensor>;
  classPred?: tf.Tensor1D;
  predCaptions?: tf.Tensor2D;
}

function needsCams(variant: Variant, batch: Batch, o: StepOptions): { cam: boolean; mask: boolean } {
  const cam = variant === 'cam' && (o.lambda ?? 1) !== 0;
  const mask = hasMedi(variant) && (o.mu ?? 0) !== 0 && !!batch.masks && !!batch.maskRows;
  if ((cam || mask) && !batch.A) throw new Error('the CAM terms need the feature maps (batch.A)');
  return { cam, mask };
}

/**
 * Weights of each term when a batch is processed in slices (micro-batches): a slice's mean losses
 * are weighted by its share of the batch (rows for L_class/L_cam/L_mask, non-PAD target tokens
 * for L_caption), so the summed slice gradients are exactly the full-batch gradient.
 */
interface TermWeights {
  cls: number;
  cap: number;
  rows: number;
}
const UNIT: TermWeights = { cls: 1, cap: 1, rows: 1 };
const scaled = (x: tf.Scalar, k: number): tf.Scalar => (k === 1 ? x : (tf.mul(x, k) as tf.Scalar));

/**
 * Whether the step takes L_caption from the ground-truth caption's Grad-CAM pass (see
 * sharedCaptionTerm) instead of running the captioner's forward and backward a second time: when a
 * CAM term needs that pass anyway and L_caption, as the contract defines it, is in the objective.
 */
function sharesCaption(variant: Variant, need: { cam: boolean; mask: boolean }, o: StepOptions): boolean {
  // dropout, label smoothing, unlikelihood or sampled inputs make L_caption differ from the contract's Grad-CAM pass
  const r = o.regularise;
  const plainCaption =
    !r?.dropout && !r?.captionSmoothing && !r?.unlikelihood && !r?.sampling && !r?.loopUnlikelihood && !r?.selfCritical;
  // the given and the greedy captions still run as one stacked pass of 2B rows (gradcam.ts), so
  // the step does strictly less work: ~13-16% less CPU on tfjs-node (docs/model.md, "Speed levers")
  const wanted = o.shareCaptionPass ?? true;
  return wanted && hasCap(variant) && (need.cam || need.mask) && o.terms !== 'cam' && plainCaption;
}

/**
 * The objective as a function of the parameters; the scalars are kept for reporting. With
 * `capGrads` (training, see sharesCaption) L_caption's captioner gradients are written there
 * instead of being left to the caller's backward pass, which then must not ask for cap.*.
 */
function objective(
  P: ParamView,
  Pdet: ParamView,
  variant: Variant,
  batch: Batch,
  o: StepOptions,
  fixed: { classPred?: tf.Tensor1D; predCaptions?: tf.Tensor2D },
  need: { cam: boolean; mask: boolean },
  keep: Record<string, tf.Scalar>,
  w: TermWeights = UNIT,
  capGrads?: Record<string, tf.Tensor>,
): tf.Scalar {
  const v = batch.v ?? pooled(batch.A!);
  const feat = feature(P, variant, v);
  const terms: tf.Scalar[] = [];
  const onlyCam = o.terms === 'cam';
  if (hasCls(variant) && !onlyCam) {
    const clsIn = hasMedi(variant) ? classInput(feat, o.regularise?.classDropout) : feat;
    keep.class = classLoss(classify(P, clsIn), batch.labels, o.regularise?.classSmoothing);
    terms.push(scaled(keep.class, w.cls * (o.classWeight ?? 1)));
  }
  if (hasCap(variant) && !onlyCam && !capGrads) {
    const r = o.regularise;
    keep.caption = captionLoss(capPrep(P), feat, batch.captions, {
      dropout: r?.dropout,
      smoothing: r?.captionSmoothing,
      unlikelihood: r?.unlikelihood,
      unlikelihoodOf: r?.unlikelihoodOf,
      sampling: r?.sampling,
      loopUnlikelihood: r?.loopUnlikelihood,
      selfCritical: r?.selfCritical ? { ...r.selfCritical, references: referencesOf(batch) } : undefined,
    });
    terms.push(scaled(keep.caption, w.cap));
  }
  if (need.cam || need.mask) {
    const alphas = capGrads
      ? sharedAlphas(P, Pdet, variant, v, feat, batch, fixed, need, w.cap, keep, capGrads, terms)
      : gradCamAlphas(P, Pdet, variant, v, [
          { kind: 'cls', classes: batch.labels },
          { kind: 'cap', captions: batch.captions },
          ...(need.cam
            ? ([
                { kind: 'cls', classes: fixed.classPred! },
                { kind: 'cap', captions: fixed.predCaptions! },
              ] as ScoreRequest[])
            : []),
        ]);
    const [clsGt, capGt, clsPred, capPred] = camMaps(batch.A!, alphas);
    if (need.cam) {
      keep.cam = camTerm(o, clsGt, capGt, clsPred, capPred);
      terms.push(scaled(keep.cam, (o.lambda ?? 1) * w.rows));
    }
    if (need.mask) {
      keep.mask = maskLoss(clsGt, capGt, batch.masks!, batch.maskRows!);
      terms.push(scaled(keep.mask, (o.mu ?? 0) * w.rows));
    }
  }
  for (const k of Object.keys(keep)) tf.keep(keep[k]);
  return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
}

/**
 * The alphas [cls gt, cap gt, (cls pred, cap pred)] of a step that shares its caption pass: the
 * given and the greedy captions run through the captioner as one stacked pass that also yields
 * L_caption (sharedCaptionTerm, pushed onto `terms`).
 */
function sharedAlphas(
  P: ParamView,
  Pdet: ParamView,
  variant: Variant,
  v: tf.Tensor2D,
  feat: tf.Tensor2D,
  batch: Batch,
  fixed: { classPred?: tf.Tensor1D; predCaptions?: tf.Tensor2D },
  need: { cam: boolean; mask: boolean },
  capWeight: number,
  keep: Record<string, tf.Scalar>,
  capGrads: Record<string, tf.Tensor>,
  terms: tf.Scalar[],
): tf.Tensor2D[] {
  const caps = need.cam ? [batch.captions, fixed.predCaptions!] : [batch.captions];
  const cap = captionAlphasWithGrads(P, Pdet, variant, feat, caps);
  terms.push(sharedCaptionTerm(cap, batch.captions, feat, capWeight, keep, capGrads));
  const cls = gradCamAlphas(P, Pdet, variant, v, [
    { kind: 'cls', classes: batch.labels },
    ...(need.cam ? ([{ kind: 'cls', classes: fixed.classPred! }] as ScoreRequest[]) : []),
  ]);
  return need.cam ? [cls[0], cap.alphas[0], cls[1], cap.alphas[1]] : [cls[0], cap.alphas[0]];
}

/**
 * L_caption out of the ground-truth caption's Grad-CAM pass (L_caption = −Σ scores / N, N the
 * non-PAD target tokens): its value goes to `keep`, its captioner gradients (scaled by the slice
 * weight) to `capGrads`, and the returned term carries its gradient into f_medi: Σ C ⊙ feat with
 * C = ∂L_caption/∂feat held constant has exactly that gradient w.r.t. f_medi's weights.
 */
function sharedCaptionTerm(
  gt: ReturnType<typeof captionAlphasWithGrads>,
  captions: tf.Tensor2D,
  feat: tf.Tensor2D,
  weight: number,
  keep: Record<string, tf.Scalar>,
  capGrads: Record<string, tf.Tensor>,
): tf.Scalar {
  const [B, T] = captions.shape;
  const tokens = tf.maximum(tf.sum(tf.notEqual(tf.slice(captions, [0, 1], [B, T - 1]), PAD).toFloat()), 1);
  keep.caption = tf.neg(tf.div(gt.scoreSum, tokens));
  const k = tf.div(-weight, tokens);
  for (const [n, g] of Object.entries(gt.dWeights)) capGrads[n] = tf.keep(tf.mul(g, k));
  return tf.sum(tf.mul(leaf(tf.mul(gt.dFeat, k)), feat));
}

/** pred class (argmax) and pred caption (greedy) as constants, computed off the tape. */
function predictions(P: ParamView, variant: Variant, batch: Batch, o: StepOptions) {
  return tf.tidy(() => {
    const feat = feature(P, variant, batch.v ?? pooled(batch.A!));
    const classPred = o.classPred ?? (tf.argMax(classify(P, feat), 1).toInt() as tf.Tensor1D);
    const predCaptions = o.predCaptions ?? greedyDecode(P, feat, batch.captions.shape[1]);
    return { classPred, predCaptions };
  });
}

function gradNames(P: ParamView, o: StepOptions): string[] {
  const names = Object.keys(P);
  return o.terms === 'cam' ? names.filter((n) => n.startsWith('medi.')) : names;
}

function readLosses(keep: Record<string, tf.Scalar>, o: StepOptions): Losses {
  const num = (k: string) => (keep[k] ? keep[k].dataSync()[0] : 0);
  const l = { class: num('class'), caption: num('caption'), cam: num('cam'), mask: num('mask'), total: 0 };
  l.total = (o.classWeight ?? 1) * l.class + l.caption + (o.lambda ?? 1) * l.cam + (o.mu ?? 0) * l.mask;
  for (const t of Object.values(keep)) t.dispose();
  return l;
}

/**
 * Rows per slice when a step is split: the CAM terms keep the inner and outer backward passes of
 * the whole captioner on the tape, which at the paper's sizes does not fit the wasm heap (4 GB) at
 * B=128. Other backends and variants run the batch in one piece unless asked.
 */
function defaultMicroBatch(need: { cam: boolean; mask: boolean }): number {
  return (need.cam || need.mask) && tf.getBackend() === 'wasm' ? 32 : Infinity;
}

function sliceBatch(b: Batch, start: number, size: number): Batch {
  const rows = <T extends tf.Tensor>(t: T | undefined) =>
    t
      ? (tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1)]) as T)
      : undefined;
  return {
    A: rows(b.A),
    v: rows(b.v),
    labels: rows(b.labels)!,
    captions: rows(b.captions)!,
    masks: rows(b.masks),
    maskRows: rows(b.maskRows),
    references: rows(b.references),
  };
}

function referencesOf(batch: Batch): tf.Tensor3D {
  if (!batch.references) throw new Error('self-critical training needs the references of the batch (batch.references)');
  return batch.references;
}

/** A slice's options: its own dropout streams, so slices do not drop the same units. */
function sliceOptions(o: StepOptions, start: number): StepOptions {
  const r = o.regularise;
  if (!r?.dropout && !r?.classDropout && !r?.sampling && !r?.selfCritical) return o;
  const own = (d: CaptionDropout | undefined) => (d ? { ...d, seed: mixSeed(d.seed, start) } : undefined);
  // sampled inputs draw per row of the whole batch, so a part draws what the whole would
  const sampling = r.sampling ? { ...r.sampling, firstRow: start } : undefined;
  const selfCritical = r.selfCritical ? { ...r.selfCritical, firstRow: start } : undefined;
  return { ...o, regularise: { ...r, dropout: own(r.dropout), classDropout: own(r.classDropout), sampling, selfCritical } };
}

/**
 * The classifier's input inside L_class of a model with f_medi: h itself, or h with training-only
 * dropout (inverted: the kept units scaled by 1/(1 − rate), so inference, which never drops, sees
 * the same expected values). L_caption and the Grad-CAMs of L_cam / L_mask always see the
 * undropped h, and so does the prediction that L_cam's pred class comes from. cnn has no shared
 * layer and is never dropped.
 */
function classInput(feat: tf.Tensor2D, d: CaptionDropout | undefined): tf.Tensor2D {
  return d && d.rate > 0 ? (tf.dropout(feat, d.rate, undefined, d.seed) as tf.Tensor2D) : feat;
}

function oneStep(
  P: ParamView,
  variant: Variant,
  batch: Batch,
  opts: StepOptions,
  need: { cam: boolean; mask: boolean },
  fixed: { classPred?: tf.Tensor1D; predCaptions?: tf.Tensor2D },
  names: string[],
  w: TermWeights,
) {
  // detached heads: same data, different tensors, so no gradient path from L_cam to the cls / cap weights
  const Pdet: ParamView = {};
  for (const [n, t] of Object.entries(P)) Pdet[n] = n.startsWith('medi.') ? t : tf.clone(t);
  const keep: Record<string, tf.Scalar> = {};
  const capGrads = sharesCaption(variant, need, opts) ? {} : undefined;
  // with a shared caption pass the objective hands back the cap.* gradients itself
  const outer = capGrads ? names.filter((n) => !n.startsWith('cap.')) : names;
  try {
    const gs = tf.grads(() => objective(P, Pdet, variant, batch, opts, fixed, need, keep, w, capGrads))(
      outer.map((n) => P[n]),
    );
    const grads: Record<string, tf.Tensor> = { ...capGrads };
    outer.forEach((n, i) => (grads[n] = gs[i]));
    return { grads, keep };
  } finally {
    for (const [n, t] of Object.entries(Pdet)) if (!n.startsWith('medi.')) t.dispose();
  }
}

/**
 * Algorithm 1 gradients and losses for one batch (see the file comment). `opts.microBatch` splits
 * the batch into slices whose gradients are summed with exact weights (same result, less memory);
 * by default only CAM steps on wasm are split, into slices of 32. With `opts.share` the batch is
 * one part of a larger one (worker threads) and the result is that part's weighted contribution.
 */
export function algorithm1Grads(
  P: ParamView,
  variant: Variant,
  batch: Batch,
  opts: StepOptions = {},
): StepResult {
  const need = needsCams(variant, batch, opts);
  if (opts.terms === 'cam' && !need.cam && !need.mask)
    throw new Error(`no CAM term to differentiate for ${variant}`);
  const fixed: { classPred?: tf.Tensor1D; predCaptions?: tf.Tensor2D } = need.cam
    ? predictions(P, variant, batch, opts)
    : {};
  const names = gradNames(P, opts);
  const B = batch.labels.shape[0];
  const mb = Math.max(1, Math.min(B, opts.microBatch ?? defaultMicroBatch(need)));
  if (mb >= B && !opts.share) {
    const { grads, keep } = oneStep(P, variant, batch, opts, need, fixed, names, UNIT);
    return { losses: readLosses(keep, opts), grads, ...fixed };
  }
  // token counts per slice for L_caption's weights
  const tgtTokens = tf.tidy(() =>
    Array.from(
      tf.sum(tf.notEqual(tf.slice(batch.captions, [0, 1], [-1, -1]), 0).toInt(), 1).dataSync() as Int32Array,
    ),
  );
  const whole = opts.share ?? { offset: 0, rows: B, tokens: tgtTokens.reduce((a, b) => a + b, 0) };
  const totalTokens = Math.max(1, whole.tokens);
  const grads: Record<string, tf.Tensor> = {};
  const acc = { class: 0, caption: 0, cam: 0, mask: 0 };
  for (let start = 0; start < B; start += mb) {
    const size = Math.min(mb, B - start);
    const tok = Math.max(
      1,
      tgtTokens.slice(start, start + size).reduce((a, b) => a + b, 0),
    );
    const w: TermWeights = { cls: size / whole.rows, cap: tok / totalTokens, rows: size / whole.rows };
    const part = sliceBatch(batch, start, size);
    const pf = {
      classPred: fixed.classPred ? (tf.slice(fixed.classPred, [start], [size]) as tf.Tensor1D) : undefined,
      predCaptions: fixed.predCaptions
        ? (tf.slice(fixed.predCaptions, [start, 0], [size, -1]) as tf.Tensor2D)
        : undefined,
    };
    try {
      const { grads: gs, keep } = oneStep(P, variant, part, sliceOptions(opts, whole.offset + start), need, pf, names, w);
      names.forEach((n) => {
        const prev = grads[n];
        grads[n] = prev ? tf.add(prev, gs[n]) : gs[n];
        if (prev) {
          prev.dispose();
          gs[n].dispose();
        }
      });
      const l = readLosses(keep, opts);
      acc.class += w.cls * l.class;
      acc.caption += w.cap * l.caption;
      acc.cam += w.rows * l.cam;
      acc.mask += w.rows * l.mask;
    } finally {
      for (const t of [...Object.values(part), ...Object.values(pf)]) (t as tf.Tensor | undefined)?.dispose();
    }
  }
  const total = (opts.classWeight ?? 1) * acc.class + acc.caption + (opts.lambda ?? 1) * acc.cam + (opts.mu ?? 0) * acc.mask;
  return { losses: { ...acc, total }, grads, ...fixed };
}

/** The same losses without gradients (finite-difference checks, validation). */
export function algorithm1Losses(
  P: ParamView,
  variant: Variant,
  batch: Batch,
  opts: StepOptions = {},
): Losses & {
  classPred?: tf.Tensor1D;
  predCaptions?: tf.Tensor2D;
} {
  const need = needsCams(variant, batch, opts);
  const fixed = need.cam ? predictions(P, variant, batch, opts) : {};
  const keep: Record<string, tf.Scalar> = {};
  tf.tidy(() => {
    objective(P, P, variant, batch, opts, fixed, need, keep);
  });
  const l = readLosses(keep, opts);
  if (opts.terms === 'cam') l.total = (opts.lambda ?? 1) * l.cam + (opts.mu ?? 0) * l.mask;
  return { ...l, ...fixed };
}
