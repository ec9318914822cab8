/**
 * The step the experiment scripts time: one Algorithm 1 gradient computation on a random batch,
 * its outputs disposed, sized by the command line (`--variant`, `--batch`, `--dims`, `--vocab`,
 * `--share on|off|default`).
 */
import { algorithm1Grads } from '../../src-main/ml/algorithm1.ts';
import { type Variant } from '../../src-main/ml/model.ts';
import { DIMS, type DimsPreset } from '../../src-main/jobs/train/config.ts';
import { PAPER_DIMS, randomBatch } from '../train-step.ts';

/** The value after `name` on the command line, or the fallback. */
export function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

export function randomStep(args: string[], defaultDims: DimsPreset) {
  const variant = option(args, '--variant', 'cam') as Variant;
  const B = Number(option(args, '--batch', '32'));
  const dimsName = option(args, '--dims', defaultDims) as DimsPreset;
  const dims = dimsName === 'paper' ? { ...PAPER_DIMS } : { ...PAPER_DIMS, ...DIMS[dimsName] };
  if (args.includes('--vocab')) dims.V = Number(option(args, '--vocab', '5000'));
  const share = option(args, '--share', 'default');
  const opts = { lambda: 1, ...(share === 'default' ? {} : { shareCaptionPass: share === 'on' }) };
  const { P, batch, dispose } = randomBatch({ variant, batch: B, dims });
  const step = () => {
    const r = algorithm1Grads(P, variant, batch, opts);
    for (const g of Object.values(r.grads)) g.dispose();
    r.classPred?.dispose();
    r.predCaptions?.dispose();
  };
  return { variant, B, dimsName, dims, share, step, dispose };
}
