import { withOpContext } from '../../api/ops/context.ts';
import { exportWeights, exportWeightsRequest } from '../../api/ops/weights.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

/**
 * `plumage export weights --run ID --out W.safetensors [--json]`: the run's best weights in the
 * PyTorch layout, plus W.json beside them (vocabulary, classes, dims, encoder).
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: exportWeightsRequest,
    usage: 'usage: plumage export weights --run ID --out W.safetensors',
  });
  const r = await withOpContext(ctx.home, (op) => exportWeights(op, request));
  ctx.log(`wrote ${r.out} (${r.tensors.length} tensors: ${r.tensors.join(', ')}) and ${r.sidecar}`);
  return r;
};
