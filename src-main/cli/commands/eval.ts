/**
 * `plumage eval --run ID [--split SCHEME] [--part PART] [--json]` (docs/design.md: Metrics, Command line): top-1/top-5,
 * caption metrics (greedy captions vs all the image's captions), cam_agreement and pointing on
 * the test part of the run's split; stored with the run. Like the app's evaluation it then scores
 * the collection with the run (predictions for the review queue and the confusion cells).
 */
import { withOpContext } from '../../api/ops/context.ts';
import { evaluateAndScore, evaluateRequest, type EvalResult } from '../../api/ops/evaluate.ts';
import type { Command } from '../context.ts';
import { jobPrinter } from '../progress.ts';
import { parseRequest } from '../request.ts';

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
  const { request } = parseRequest(ctx.argv, {
    schema: evaluateRequest,
    rename: { runId: 'run', scheme: 'split', batchSize: 'batch' },
    usage: 'usage: plumage eval --run ID [--split SCHEME] [--part test] [--batch N] [--json]',
  });
  const ac = new AbortController();
  const { metrics, scored } = await withOpContext(ctx.home, (op) =>
    evaluateAndScore(op, request, { signal: ac.signal, emit: jobPrinter(ctx.err) }),
  );
  if (!ctx.json) {
    for (const l of formatEval(metrics)) ctx.log(l);
    ctx.log(`  scored ${scored.images} photos with run ${metrics.run}`);
  }
  return { ...metrics, scored: scored.images } as unknown as Record<string, unknown>;
};
