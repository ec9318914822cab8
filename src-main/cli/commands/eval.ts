/**
 * `plumage eval --run ID [--split SCHEME] [--part PART] [--json]` (DESIGN §6/§8): top-1/top-5,
 * caption metrics (greedy captions vs all the image's captions), cam_agreement and pointing on
 * the test part of the run's split; stored with the run.
 */
import { evaluateRun, type EvalResult } from '../../jobs/evaluate.ts';
import { parseCommandArgs, type Command } from '../context.ts';
import { usageError } from '../errors.ts';
import { Progress } from '../progress.ts';

const pct = (x: number | null) => (x === null ? '—' : (100 * x).toFixed(1) + '%');
const num = (x: number | null, d = 4) => (x === null ? '—' : x.toFixed(d));

export function formatEval(r: EvalResult): string[] {
  const lines = [
    `run ${r.run} (${r.variant}) on split '${r.split.scheme}' part '${r.split.part}': ${r.n_images} images, ${r.n_pointing} with parts; ` +
      `${r.n_captioned} captioned${r.caption_split.scheme !== r.split.scheme ? ` (split '${r.caption_split.scheme}' part '${r.caption_split.part}')` : ''}`,
    `  top-1 ${pct(r.top1)}   top-5 ${pct(r.top5)}`,
    `  BLEU-1 ${num(r.bleu1)}  BLEU-2 ${num(r.bleu2)}  BLEU-3 ${num(r.bleu3)}  BLEU-4 ${num(r.bleu4)}`,
    `  METEOR ${num(r.meteor)}  ROUGE-L ${num(r.rougeL)}  CIDEr-D ${num(r.cider)}   (captions: ${r.decode} decoding)`,
    `  CAM agreement ${num(r.cam_agreement)}   pointing ${pct(r.pointing)}`,
  ];
  if (r.per_class.length) {
    const worstClasses = [...r.per_class].sort((a, b) => a.top1 - b.top1).slice(0, 5);
    lines.push(`  weakest classes: ${worstClasses.map((c) => `${c.name} ${pct(c.top1)} (${c.n})`).join(', ')}`);
  }
  for (const w of r.worst.slice(0, 3)) lines.push(`  low CIDEr ${w.cider.toFixed(3)} ${w.file}: "${w.candidate}"`);
  return lines;
}

export const run: Command = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, {
    run: { type: 'string' },
    split: { type: 'string' },
    part: { type: 'string' },
    batch: { type: 'string' },
  });
  if (positionals.length) throw usageError(`unexpected argument '${positionals[0]}'`);
  if (!values.run) throw usageError('usage: plumage eval --run ID [--split SCHEME] [--part test] [--json]');
  const batchSize = values.batch ? Number(values.batch) : undefined;
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) throw usageError('--batch must be a positive integer');
  let progress: Progress | null = null;
  const r: EvalResult = await evaluateRun({
    home: ctx.home,
    runId: values.run,
    scheme: values.split,
    part: values.part,
    batchSize,
    onProgress: (done, total) => {
      progress ??= new Progress('eval', total, 'images');
      progress.set(done);
    },
  });
  (progress as Progress | null)?.finish();
  if (!ctx.json) for (const l of formatEval(r)) ctx.log(l);
  return r as unknown as Record<string, unknown>;
};
