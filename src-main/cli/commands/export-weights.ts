import { copyFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { notFound } from '../../util/errors.ts';
import { openDb } from '../../data/store.ts';
import { getRun } from '../../data/runs.ts';
import { workspace } from '../../data/workspace.ts';
import { readSidecar, requireCheckpoint } from '../../jobs/run-artifact.ts';
import { readSafetensors } from '../../ml/safetensors.ts';

/**
 * `plumage export weights --run ID --out W.safetensors [--json]`: the run's best weights in the
 * PyTorch layout of docs/design.md: Weights interop with PyTorch, plus W.json beside it (vocabulary, classes, dims, encoder) that
 * `plumage import-weights` and PyTorch users need to read the outputs.
 */
export const run: Command = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, { run: { type: 'string' }, out: { type: 'string' } }, false);
  if (!values.run || !values.out)
    throw usageError('usage: plumage export weights --run ID --out W.safetensors');
  if (!values.out.endsWith('.safetensors')) throw usageError('--out must end in .safetensors');
  const ws = workspace(ctx.home);
  const db = openDb(ws.dbPath);
  try {
    const r = getRun(db, values.run);
    if (!r) throw notFound(`no run ${values.run}`);
    const src = requireCheckpoint(ws, r);
    const file = readSafetensors(src); // validates the file before handing it out
    const out = resolve(values.out);
    copyFileSync(src, out);
    const side = readSidecar(ws, r.id);
    const sideOut = out.replace(/\.safetensors$/, '.json');
    writeFileSync(
      sideOut,
      JSON.stringify(
        {
          format: 'plumage-weights-sidecar/1',
          run: r.id,
          variant: r.variant,
          dims: side.dims,
          vocab: side.vocab,
          classes: side.classes.map((c) => c.name),
          encoder: r.encoder,
          feature_shape: side.featureShape,
          max_len: side.maxLen,
        },
        null,
        2,
      ),
    );
    const tensors = Object.keys(file.tensors).sort();
    ctx.log(`wrote ${out} (${tensors.length} tensors: ${tensors.join(', ')}) and ${sideOut}`);
    return { run: r.id, variant: r.variant, out, sidecar: sideOut, tensors };
  } finally {
    db.close();
  }
};
