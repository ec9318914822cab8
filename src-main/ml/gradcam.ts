/**
 * Grad-CAM (docs/design.md: The model): for a per-image scalar score s, alpha = ∂s/∂v ([B,K]) and
 * cam = relu(Σ_k alpha_k A_k) ([B,H,W]). Classifier score: the class's logit. Captioner score: Σ
 * of the caption's target-token log-probs under teacher forcing (pads excluded), or one token's
 * log-prob for a per-word CAM.
 *
 * Captioner alphas are computed with an inner tf.grad (classifier alphas have a closed form, see
 * gradCamAlphas). Called inside an outer tf.grad (the training step), that inner backward pass is
 * itself recorded, so the outer gradient of anything built from the CAMs is the exact
 * second-order gradient. That is only true because every op on the path has a
 * gradient that is differentiable again: the activations come from ops.ts (gradients computed
 * from the inputs), matMul is ops.mm, relu's gradient is a step of its input, and the embedding
 * lookup never depends on v.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type ParamView,
  type Variant,
  capPrep,
  captionScores,
  classify,
  feature,
  greedyDecode,
  hasCap,
  hasCls,
  hasMedi,
  medi,
  pooled,
} from './model.ts';
import { camDistances, cosine } from './losses.ts';
import { embed, leaf, mmNN, mmOperand } from './ops.ts';
import { invalidRequest } from '../util/errors.ts';

export type ScoreRequest =
  | { kind: 'cls'; classes: tf.Tensor1D }
  | {
      kind: 'cap';
      captions: tf.Tensor2D;
      /** [B,T-1] per-target-token weights (default 1) */ weights?: tf.Tensor2D;
    };

/**
 * alpha = ∂score/∂v for each request ([B,K] each). `Pmedi` provides f_medi (the gradient of the
 * alphas flows into it), `Pheads` the classifier/captioner (pass detached copies to keep their
 * weights out of an outer gradient, as Algorithm 1 requires for L_cam).
 *
 * Classifier requests have a closed form (no backward pass): the logit of class c is
 * W_c[c]·relu(v W_mᵀ + b_m) + b_c[c], so alpha = (relu'(pre) ⊙ W_c[c]) W_m (W_c[c] for cnn).
 * Captioner requests share one backward pass: they are stacked along the batch (images are
 * independent, so the gradient of the summed score is the per-image gradient).
 */
export function gradCamAlphas(
  Pmedi: ParamView,
  Pheads: ParamView,
  variant: Variant,
  v: tf.Tensor2D,
  reqs: ScoreRequest[],
): tf.Tensor2D[] {
  const cls = reqs.filter((r): r is ClsRequest => r.kind === 'cls');
  const cap = reqs.filter((r): r is CapRequest => r.kind === 'cap');
  const clsAlphas = classAlphas(Pmedi, Pheads, variant, v, cls);
  const capAlphas = captionAlphas(Pmedi, Pheads, variant, v, cap);
  // never mutate these arrays (e.g. shift): tf.split's output array is the tape's record of its outputs
  const next = { cls: 0, cap: 0 };
  return reqs.map((r) => (r.kind === 'cls' ? clsAlphas[next.cls++] : capAlphas[next.cap++]));
}

type ClsRequest = Extract<ScoreRequest, { kind: 'cls' }>;
type CapRequest = Extract<ScoreRequest, { kind: 'cap' }>;

/**
 * ∂ logit_c / ∂v in closed form (see gradCamAlphas) for each classifier request, in one product.
 * Exact to second order in f_medi's weights: relu' is piecewise constant, so it enters as a
 * constant (a leaf tensor: on the tape it would send zeros back through f_medi's weight gradient).
 */
function classAlphas(
  Pmedi: ParamView,
  Pheads: ParamView,
  variant: Variant,
  v: tf.Tensor2D,
  reqs: ClsRequest[],
): tf.Tensor2D[] {
  const n = reqs.length;
  if (n === 0) return [];
  const classes = n === 1 ? reqs[0].classes : tf.concat(reqs.map((r) => r.classes.toInt()));
  const rows = embed(Pheads['cls.weight'] as tf.Tensor2D, classes);
  let alpha = rows;
  if (hasMedi(variant)) {
    const open = tf.tidy(() => leaf(tf.step(medi(Pmedi, v).pre)));
    const Wm = Pmedi['medi.weight'];
    const gate = tf.mul(n === 1 ? open : tf.concat(Array(n).fill(open), 0), rows);
    alpha = mmNN(gate, Wm, mmOperand(Wm));
  }
  return n === 1 ? [alpha] : (tf.split(alpha, n, 0) as tf.Tensor2D[]);
}

/** ∂ caption score / ∂v for each captioner request, in one backward pass. */
function captionAlphas(
  Pmedi: ParamView,
  Pheads: ParamView,
  variant: Variant,
  v: tf.Tensor2D,
  reqs: CapRequest[],
): tf.Tensor2D[] {
  const n = reqs.length;
  if (n === 0) return [];
  const B = v.shape[0];
  const feat = feature(Pmedi, variant, v);
  const featAll = n === 1 ? feat : tf.concat(Array(n).fill(feat), 0);
  const caps = tf.concat(
    reqs.map((r) => r.captions.toInt()),
    0,
  ) as tf.Tensor2D;
  const w = reqs.some((r) => r.weights)
    ? tf.concat(
        reqs.map((r) => r.weights ?? tf.ones([B, r.captions.shape[1] - 1])),
        0,
      )
    : undefined;
  const score = (x: tf.Tensor) => tf.sum(captionScores(capPrep(Pheads), x, caps, w));
  const g = featToAlpha(Pmedi, variant, featAll, tf.grad(score)(featAll) as tf.Tensor2D);
  return n === 1 ? [g] : (tf.split(g, n, 0) as tf.Tensor2D[]);
}

/**
 * ∂score/∂v from ∂score/∂feat: through f_medi in closed form, (g ⊙ relu'(pre)) W_m, the same ops
 * as the backward pass of f_medi (relu' = step(feat) = step(pre), a constant leaf, as in
 * classAlphas); for cnn/lrcn the feature is v itself.
 */
function featToAlpha(Pmedi: ParamView, variant: Variant, feat: tf.Tensor2D, g: tf.Tensor2D): tf.Tensor2D {
  if (!hasMedi(variant)) return g;
  const Wm = Pmedi['medi.weight'];
  const open = tf.tidy(() => leaf(tf.step(feat)));
  return mmNN(tf.mul(g, open), Wm, mmOperand(Wm));
}

/**
 * The Grad-CAM alphas of the given captions and of other captions of the same images (the greedy
 * ones), AND, from the same teacher-forced forward and the same backward pass, what L_caption
 * needs: Σ of the given captions' per-image scores (L_caption = −Σ/N, N the non-PAD target
 * tokens), ∂Σ/∂feat and ∂Σ/∂(captioner weights). The training step uses it so that L_caption's
 * forward and first backward are not computed a second time.
 *
 * `captions[0]` are the given captions; every request is stacked along the batch into one pass
 * (bigger products, fewer kernels), and only the given captions' rows reach the weights'
 * gradient (capPrep's weightRows: the other rows see the weights as constants), so dWeights is
 * exactly ∂Σ/∂(captioner weights) while one backward pass gives every alpha.
 *
 * `feat` is the live feature (f_medi's output, on the outer tape: ∇L_cam reaches f_medi through
 * it); the weights are those of `Pheads` (detached copies in training), so an outer gradient of
 * anything built from the alphas never reaches the captioner's own weights.
 */
export function captionAlphasWithGrads(
  Pmedi: ParamView,
  Pheads: ParamView,
  variant: Variant,
  feat: tf.Tensor2D,
  captions: tf.Tensor2D[],
): { alphas: tf.Tensor2D[]; scoreSum: tf.Scalar; dFeat: tf.Tensor2D; dWeights: Record<string, tf.Tensor> } {
  const names = Object.keys(Pheads).filter((n) => n.startsWith('cap.'));
  const B = feat.shape[0];
  const n = captions.length;
  const caps = (n === 1 ? captions[0].toInt() : tf.concat(captions.map((c) => c.toInt()), 0)) as tf.Tensor2D;
  const featAll = n === 1 ? feat : (tf.concat(Array(n).fill(feat), 0) as tf.Tensor2D);
  let given: tf.Scalar | undefined;
  const score = (x: tf.Tensor, ...ws: tf.Tensor[]) => {
    const view: ParamView = Object.fromEntries(names.map((name, i) => [name, ws[i]]));
    const rows = captionScores(capPrep(view, B), x, caps);
    // kept: the gradient's scope disposes everything but its result
    given = tf.keep(tf.sum(n === 1 ? rows : tf.slice(rows, 0, B)));
    return tf.sum(rows);
  };
  const { value, grads } = tf.valueAndGrads(score)([featAll, ...names.map((name) => Pheads[name])]);
  value.dispose();
  const scoreSum = tf.clone(given!);
  given!.dispose();
  const [dAll, ...dW] = grads as tf.Tensor2D[];
  const alphaAll = featToAlpha(Pmedi, variant, featAll, dAll);
  return {
    alphas: n === 1 ? [alphaAll] : (tf.split(alphaAll, n, 0) as tf.Tensor2D[]),
    scoreSum,
    dFeat: n === 1 ? dAll : (tf.slice(dAll, 0, B) as tf.Tensor2D),
    dWeights: Object.fromEntries(names.map((name, i) => [name, dW[i]])),
  };
}

/** cam = relu(Σ_k alpha_k A_k): A NHWC [B,H,W,K], alpha [B,K] → [B,H,W]. */
export function camMap(A: tf.Tensor, alpha: tf.Tensor2D): tf.Tensor3D {
  return camMaps(A, [alpha])[0];
}

/**
 * The CAMs of several alphas at once, as one batched product [B,HW,K] × [B,K,n]: the maps are
 * the biggest tensors of a training step (K is the encoder's width at every model size), and an
 * elementwise A ⊙ alpha per alpha wrote a [B,H,W,K] tensor each way (forward and gradient).
 */
export function camMaps(A: tf.Tensor, alphas: tf.Tensor2D[]): tf.Tensor3D[] {
  const [B, H, W, K] = A.shape;
  const maps = alphas.map((a) => a.reshape([B, K, 1]));
  const byAlpha = tf.matMul(
    A.reshape([B, H * W, K]) as tf.Tensor3D,
    (maps.length === 1 ? maps[0] : tf.concat(maps, 2)) as tf.Tensor3D,
  );
  const cams = tf.relu(byAlpha);
  if (alphas.length === 1) return [cams.reshape([B, H, W])];
  return tf.split(cams, alphas.length, 2).map((c) => c.reshape([B, H, W]));
}

export interface CamsResult {
  class_pred?: tf.Tensor1D;
  pred_captions?: tf.Tensor2D;
  cam_cls_pred?: tf.Tensor3D;
  cam_cls_gt?: tf.Tensor3D;
  cam_cap_gt?: tf.Tensor3D;
  cam_cap_pred?: tf.Tensor3D;
  /** per image: cos(cam_cls(pred), cam_cap(pred)) — the eval metric `cam_agreement` averages it */
  cam_agreement?: tf.Tensor1D;
  /** per image: 1 − cos(cam_cls_pred, cam_cap_gt) and 1 − cos(cam_cls_gt, cam_cap_pred) */
  d1?: tf.Tensor1D;
  d2?: tf.Tensor1D;
}

/**
 * The four CAMs of docs/design.md: The model for a batch (whatever the variant has: classifier CAMs need f_class,
 * captioner CAMs f_caption). pred = argmax class / greedy caption unless given in `fixed`.
 */
export function camsFor(
  P: ParamView,
  variant: Variant,
  A: tf.Tensor4D,
  labels: tf.Tensor1D | null,
  captions: tf.Tensor2D | null,
  opts: { T?: number; classPred?: tf.Tensor1D; predCaptions?: tf.Tensor2D } = {},
): CamsResult {
  return tf.tidy(() => {
    const v = pooled(A);
    const feat = feature(P, variant, v);
    const out: CamsResult = {};
    const reqs: ScoreRequest[] = [];
    const names: (keyof CamsResult)[] = [];
    if (hasCls(variant)) {
      out.class_pred = opts.classPred ?? (tf.argMax(classify(P, feat), 1).toInt() as tf.Tensor1D);
      reqs.push({ kind: 'cls', classes: out.class_pred });
      names.push('cam_cls_pred');
      if (labels) {
        reqs.push({ kind: 'cls', classes: labels });
        names.push('cam_cls_gt');
      }
    }
    if (hasCap(variant)) {
      const T = opts.T ?? captions?.shape[1] ?? 20;
      out.pred_captions = opts.predCaptions ?? greedyDecode(P, feat, T);
      if (captions) {
        reqs.push({ kind: 'cap', captions });
        names.push('cam_cap_gt');
      }
      reqs.push({ kind: 'cap', captions: out.pred_captions });
      names.push('cam_cap_pred');
    }
    const alphas = gradCamAlphas(P, P, variant, v, reqs);
    camMaps(A, alphas).forEach((c, i) => ((out as Record<string, tf.Tensor>)[names[i]] = c));
    // clamped: float32 rounding (libtensorflow's oneDNN sums in another order) can give 1 + 1e-7
    if (out.cam_cls_pred && out.cam_cap_pred)
      out.cam_agreement = tf.tidy(() => tf.clipByValue(cosine(out.cam_cls_pred!, out.cam_cap_pred!), -1, 1));
    if (out.cam_cls_pred && out.cam_cls_gt && out.cam_cap_gt && out.cam_cap_pred) {
      const { d1, d2 } = camDistances(out as Required<CamsResult>);
      out.d1 = d1;
      out.d2 = d2;
    }
    return out as unknown as tf.TensorContainer;
  }) as unknown as CamsResult;
}

/**
 * Per-word CAM: the CAM of the log-prob of the token at `position` (1..T−1) of each caption under
 * teacher forcing — the heat map behind one word of a caption in the app. [B,H,W].
 */
export function wordCam(
  P: ParamView,
  variant: Variant,
  A: tf.Tensor4D,
  captions: tf.Tensor2D,
  position: number,
): tf.Tensor3D {
  if (!hasCap(variant)) throw invalidRequest(`variant ${variant} has no captioner`);
  const [B, T] = captions.shape;
  if (position < 1 || position > T - 1) throw invalidRequest(`word position ${position} outside 1..${T - 1}`);
  return tf.tidy(() => {
    const w = tf.oneHot(tf.fill([B], position - 1, 'int32'), T - 1).toFloat() as tf.Tensor2D;
    const [alpha] = gradCamAlphas(P, P, variant, pooled(A), [{ kind: 'cap', captions, weights: w }]);
    return camMap(A, alpha);
  });
}
