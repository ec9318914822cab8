/**
 * The CAM losses of docs/design.md: The model (L_class and L_caption live with the forward pass in model.ts).
 *   cos(a,b) = a·b / (n(a) n(b)), n(x) = sqrt(max(Σx², ε²)), ε = 1e-8, over flattened maps
 *   L_cam    = mean_j [ (1 − cos(cam_cls(pred_j), cam_cap(gt_j))) + (1 − cos(cam_cls(gt_j), cam_cap(pred_j))) ]
 *   L_mask   = (1/B) Σ_{j with a mask} [ (1 − cos(cam_cls(gt_j), M_j)) + (1 − cos(cam_cap(gt_j), M_j)) ]
 * All are built from ops whose first-order TF.js gradients are exact; the second-order part of
 * ∇L_cam comes from the Grad-CAM alphas (gradcam.ts), differentiated once more by the caller.
 */
import * as tf from '@tensorflow/tfjs';

export const COS_EPS = 1e-8;

function norm(x: tf.Tensor2D): tf.Tensor1D {
  return tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1), COS_EPS * COS_EPS)) as tf.Tensor1D;
}

/** Per-row cosine similarity of maps [B,...] (flattened per row). */
export function cosine(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  const B = a.shape[0];
  const a2 = a.reshape([B, -1]) as tf.Tensor2D;
  const b2 = b.reshape([B, -1]) as tf.Tensor2D;
  return tf.div(tf.sum(tf.mul(a2, b2), 1), tf.mul(norm(a2), norm(b2))) as tf.Tensor1D;
}

/** Per-row cosine distance 1 − cos(a, b). */
export function cosineDistance(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.sub(1, cosine(a, b)) as tf.Tensor1D;
}

export interface FourCams {
  cam_cls_pred: tf.Tensor;
  cam_cls_gt: tf.Tensor;
  cam_cap_gt: tf.Tensor;
  cam_cap_pred: tf.Tensor;
}

/** The two per-image distances of paper eq. 6. */
export function camDistances(c: FourCams): { d1: tf.Tensor1D; d2: tf.Tensor1D } {
  return {
    d1: cosineDistance(c.cam_cls_pred, c.cam_cap_gt),
    d2: cosineDistance(c.cam_cls_gt, c.cam_cap_pred),
  };
}

/** L_cam (paper eq. 6). */
export function camLoss(c: FourCams): tf.Scalar {
  const { d1, d2 } = camDistances(c);
  return tf.mean(tf.add(d1, d2));
}

/**
 * Mask term (beyond the paper): painted masks M [B,H,W]; `rows` [B] is 1 for images that have a
 * mask, 0 otherwise. Averaged over the whole batch like L_cam, so μ weighs both the same way.
 */
export function maskLoss(camClsGt: tf.Tensor, camCapGt: tf.Tensor, M: tf.Tensor, rows: tf.Tensor): tf.Scalar {
  const d = tf.add(cosineDistance(camClsGt, M), cosineDistance(camCapGt, M));
  return tf.div(tf.sum(tf.mul(d, rows)), camClsGt.shape[0]) as tf.Scalar;
}
