/**
 * Grad-CAM (DESIGN §4): for a per-image scalar score s, alpha = ∂s/∂v ([B,K]) and
 * cam = relu(Σ_k alpha_k A_k) ([B,H,W]). Classifier score: the class's logit. Captioner score: Σ
 * of the caption's target-token log-probs under teacher forcing (pads excluded), or one token's
 * log-prob for a per-word CAM.
 *
 * Alphas are computed with an inner tf.grad. Called inside an outer tf.grad (the training step),
 * that inner backward pass is itself recorded, so the outer gradient of anything built from the
 * CAMs is the exact second-order gradient. That is only true because every op on the path has a
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
  classScores,
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
import { invalidRequest } from '../util/errors.ts';

export type ScoreRequest =
  | { kind: 'cls'; classes: tf.Tensor1D }
  | {
      kind: 'cap';
      captions: tf.Tensor2D;
      /** [B,T-1] per-target-token weights (default 1) */ weights?: tf.Tensor2D;
    };

/**
 * alpha = ∂score/∂v for each request ([B,K] each), all in one backward pass (the requests are
 * stacked along the batch: images are independent, so the gradient of the summed score is the
 * per-image gradient). `Pmedi` provides f_medi (the gradient of the alphas flows into it),
 * `Pheads` the classifier/captioner (pass detached copies to keep their weights out of an outer
 * gradient, as Algorithm 1 requires for L_cam).
 */
export function gradCamAlphas(
  Pmedi: ParamView,
  Pheads: ParamView,
  variant: Variant,
  v: tf.Tensor2D,
  reqs: ScoreRequest[],
): tf.Tensor2D[] {
  const B = v.shape[0];
  const n = reqs.length;
  if (n === 0) return [];
  const vAll = n === 1 ? v : tf.concat(Array(n).fill(v), 0);
  const score = (x: tf.Tensor) => {
    const feat = hasMedi(variant) ? medi(Pmedi, x).h : x;
    const rows = (j: number) => (n === 1 ? feat : tf.slice(feat, [j * B, 0], [B, -1]));
    const terms: tf.Tensor[] = [];
    const cls = reqs.map((r, j) => [r, j] as const).filter(([r]) => r.kind === 'cls');
    if (cls.length) {
      const f =
        cls.length === 1
          ? rows(cls[0][1])
          : tf.concat(
              cls.map(([, j]) => rows(j)),
              0,
            );
      const c = tf.concat(
        cls.map(([r]) => (r as { classes: tf.Tensor1D }).classes.toInt()),
        0,
      );
      terms.push(tf.sum(classScores(Pheads, f, c)));
    }
    const cap = reqs.map((r, j) => [r, j] as const).filter(([r]) => r.kind === 'cap') as [
      Extract<ScoreRequest, { kind: 'cap' }>,
      number,
    ][];
    if (cap.length) {
      const f =
        cap.length === 1
          ? rows(cap[0][1])
          : tf.concat(
              cap.map(([, j]) => rows(j)),
              0,
            );
      const caps = tf.concat(
        cap.map(([r]) => r.captions.toInt()),
        0,
      ) as tf.Tensor2D;
      const anyW = cap.some(([r]) => r.weights);
      const w = anyW
        ? tf.concat(
            cap.map(([r]) => r.weights ?? tf.ones([B, r.captions.shape[1] - 1])),
            0,
          )
        : undefined;
      terms.push(tf.sum(captionScores(capPrep(Pheads), f, caps, w)));
    }
    return terms.length === 1 ? terms[0] : tf.addN(terms);
  };
  const g = tf.grad(score)(vAll) as tf.Tensor2D;
  return n === 1 ? [g] : (tf.split(g, n, 0) as tf.Tensor2D[]);
}

/** cam = relu(Σ_k alpha_k A_k): A NHWC [B,H,W,K], alpha [B,K] → [B,H,W]. */
export function camMap(A: tf.Tensor, alpha: tf.Tensor2D): tf.Tensor3D {
  const [B, , , K] = A.shape;
  return tf.relu(tf.sum(tf.mul(A, alpha.reshape([B, 1, 1, K])), 3)) as tf.Tensor3D;
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
 * The four CAMs of DESIGN §4 for a batch (whatever the variant has: classifier CAMs need f_class,
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
    alphas.forEach((a, i) => ((out as Record<string, tf.Tensor>)[names[i]] = camMap(A, a)));
    if (out.cam_cls_pred && out.cam_cap_pred) out.cam_agreement = cosine(out.cam_cls_pred, out.cam_cap_pred);
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
