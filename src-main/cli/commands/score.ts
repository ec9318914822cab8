/**
 * `plumage score --refs R --cands C [--meteor wordnet|stem|none] [--json]` (docs/design.md: Metrics):
 * BLEU-1..4, METEOR, ROUGE-L and CIDEr-D of candidate captions against references.
 */
import { captionScoreRequest, scoreCaptionFiles } from '../../api/ops/metrics.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

const ROWS = [
  ['BLEU-1', 'bleu1'],
  ['BLEU-2', 'bleu2'],
  ['BLEU-3', 'bleu3'],
  ['BLEU-4', 'bleu4'],
  ['METEOR', 'meteor'],
  ['ROUGE-L', 'rougeL'],
  ['CIDEr-D', 'cider'],
] as const;

export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: captionScoreRequest,
    usage: 'usage: plumage score --refs refs.json --cands cands.json [--meteor wordnet|stem|none] [--json]',
  });
  const r = scoreCaptionFiles(request);
  if (!ctx.json) {
    ctx.log(`${r.images} image(s) scored in ${r.ms.toFixed(0)} ms (refs: ${r.refsFormat}, cands: ${r.candsFormat})`);
    for (const [label, key] of ROWS) {
      const v = r.scores[key];
      ctx.log(`  ${label.padEnd(8)} ${v === null || Number.isNaN(v) ? '—' : v.toFixed(4)}`);
    }
  }
  return r.scores;
};
