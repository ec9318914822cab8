import { resolve } from 'node:path';
import { withOpContext } from '../../api/ops/context.ts';
import { importWeightsFile, importWeightsRequest } from '../../api/ops/weights.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

/**
 * `plumage import-weights W.safetensors [--variant cnn|lrcn|medi|cam] [--vocab F] [--classes F]
 * [--encoder ID] [--collection ID] [--max-len T] --json`: a run from PyTorch-layout weights.
 * Vocabulary and class names come from W.json beside the file (as `plumage export weights`
 * writes it) or from --vocab / --classes.
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: importWeightsRequest,
    positionals: ['file'],
    rename: { collectionId: 'collection' },
    usage: 'usage: plumage import-weights W.safetensors [--variant V] [--vocab F] [--classes F] [--encoder ID]',
  });
  const res = await withOpContext(ctx.home, (op) => importWeightsFile(op, request));
  ctx.log(`imported ${resolve(request.file)} as run ${res.run} (${res.variant}, K=${res.dims.K}, C=${res.dims.C}, V=${res.dims.V})`);
  for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
  return { ...res };
};
