/**
 * `plumage inspect --weights W.safetensors --inputs I.safetensors [--grad-total] --json`
 * (docs/design.md: Weights interop with PyTorch): logits, the four CAMs, the greedy captions, the
 * three losses and the L_cam gradient w.r.t. f_medi of the model on given weights and inputs — the
 * interop check against PyTorch. `--grad-total` adds the Algorithm-1 gradient of every parameter
 * and class_pred.
 */
import { inspectRequest, inspectWeights } from '../../api/ops/weights.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: inspectRequest,
    usage: 'usage: plumage inspect --weights W.safetensors --inputs I.safetensors [--grad-total] [--json]',
  });
  const { variant, ...out } = await inspectWeights(request);
  if (!ctx.json) {
    ctx.log(`variant ${variant}; loss_class ${out.loss_class} loss_caption ${out.loss_caption} loss_cam ${out.loss_cam}`);
    ctx.log(`pred_captions ${JSON.stringify(out.pred_captions)}`);
  }
  return out;
};
