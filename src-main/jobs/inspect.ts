/**
 * The interop check against PyTorch (`plumage inspect`, docs/design.md: Weights interop with
 * PyTorch): runs the model on given weights and inputs and returns logits, the four CAMs, the
 * greedy captions, the three losses and the L_cam gradient w.r.t. f_medi. The variant is inferred
 * from the tensors (medi.* present → cam).
 */
import * as tf from '@tensorflow/tfjs';
import { algorithm1Grads, type Batch } from '../ml/algorithm1.ts';
import { camsFor } from '../ml/gradcam.ts';
import { hasMedi, paramsFromTensors } from '../ml/model.ts';
import type { SafeTensor } from '../ml/safetensors.ts';
import { invalidRequest } from '../util/errors.ts';

const toTensor = (t: SafeTensor) => tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
const round = (x: number) => x;

/** Everything `inspect` prints, as plain JSON values. */
export function inspectModel(
  W: Record<string, SafeTensor>,
  I: Record<string, SafeTensor>,
  opts: { gradTotal?: boolean } = {},
): Record<string, unknown> {
  const weights: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(W)) weights[n] = toTensor(t);
  const { params, variant } = paramsFromTensors(weights);
  Object.values(weights).forEach((t) => t.dispose());
  if (I.features.shape.length !== 4) throw invalidRequest(`features must be [B,K,H,W], got [${I.features.shape}]`);
  // PyTorch NCHW → NHWC
  const A = tf.tidy(() => tf.transpose(toTensor(I.features).toFloat(), [0, 2, 3, 1])) as tf.Tensor4D;
  const labels = toTensor(I.labels).toInt() as tf.Tensor1D;
  const captions = toTensor(I.captions).toInt() as tf.Tensor2D;
  const out: Record<string, unknown> = { variant };
  const cams = camsFor(params, variant, A, labels, captions);
  const batch: Batch = { A, labels, captions };
  const step = algorithm1Grads(params, variant, batch, {
    classPred: cams.class_pred,
    predCaptions: cams.pred_captions,
  });
  const arr = (t?: tf.Tensor) => (t ? t.arraySync() : null);
  if (cams.class_pred) {
    out.logits = tf
      .tidy(() => {
        const v = tf.mean(A, [1, 2]);
        const h = hasMedi(variant)
          ? tf.relu(tf.add(tf.matMul(v, params['medi.weight'], false, true), params['medi.bias']))
          : v;
        return tf.add(tf.matMul(h, params['cls.weight'], false, true), params['cls.bias']);
      })
      .arraySync();
  }
  out.cam_cls_pred = arr(cams.cam_cls_pred);
  out.cam_cls_gt = arr(cams.cam_cls_gt);
  out.cam_cap_gt = arr(cams.cam_cap_gt);
  out.cam_cap_pred = arr(cams.cam_cap_pred);
  out.pred_captions = arr(cams.pred_captions);
  out.loss_class = cams.class_pred ? round(step.losses.class) : null;
  out.loss_caption = cams.pred_captions ? round(step.losses.caption) : null;
  out.loss_cam = variant === 'cam' ? round(step.losses.cam) : null;
  if (variant === 'cam') {
    const g = algorithm1Grads(params, variant, batch, {
      terms: 'cam',
      classPred: cams.class_pred,
      predCaptions: cams.pred_captions,
    });
    out.grad_cam_medi_weight = g.grads['medi.weight'].arraySync();
    out.grad_cam_medi_bias = g.grads['medi.bias'].arraySync();
    Object.values(g.grads).forEach((t) => t.dispose());
  }
  if (opts.gradTotal) {
    out.class_pred = arr(cams.class_pred);
    const gt: Record<string, unknown> = {};
    for (const [n, t] of Object.entries(step.grads)) gt[n] = t.arraySync();
    out.grad_total = gt;
  }
  Object.values(step.grads).forEach((t) => t.dispose());
  for (const t of Object.values(cams)) (t as tf.Tensor | undefined)?.dispose();
  A.dispose();
  labels.dispose();
  captions.dispose();
  return out;
}
