import type { OpEvent } from '../../api/ops/context.ts';
import { withOpContext } from '../../api/ops/context.ts';
import { experiment, experimentRequest, formatExperiment, formatPaired } from '../../api/ops/experiment.ts';
import type { Command } from '../context.ts';
import { formatDuration, stagePrinter } from '../progress.ts';
import { parseRequest } from '../request.ts';

const USAGE =
  'usage: plumage experiment [--variants cnn,lrcn,medi,cam] [--seeds 1,2,3] [--recipe standard|legacy|paper] [--set key=value …] [--cam-set key=value …] [--equal-budget] [--split S] [--collection ID] [--encoder-path DIR]';

/**
 * `plumage experiment [--variants cnn,lrcn,medi,cam] [--seeds 1,2,3] [--recipe standard|legacy|paper]
 * [--set key=value …] [--cam-set key=value …] [--equal-budget] [--split S] [--collection ID] [--encoder-path DIR] --json`:
 * trains and evaluates every variant × seed and prints the Table 2 layout with mean ± sd.
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: experimentRequest,
    lists: ['variants', 'seeds'],
    rename: { collectionId: 'collection' },
    usage: USAGE,
  });
  const res = await withOpContext(ctx.home, (op) =>
    experiment(op, request, { signal: new AbortController().signal, emit: experimentPrinter(ctx.err) }),
  );
  ctx.log(`Recipe ${res.recipe}: ${res.recipe_description}`);
  if (Object.keys(res.set).length) ctx.log(`Settings: ${JSON.stringify(res.set)}`);
  if (Object.keys(res.cam_set).length) ctx.log(`cam fine-tune settings: ${JSON.stringify(res.cam_set)}`);
  if (res.equal_budget) ctx.log("Equal budget: every other variant continued with cam's fine-tune settings too");
  for (const l of formatExperiment(res.summary)) ctx.log(l);
  if (res.paired) for (const l of ['', ...formatPaired(res.paired)]) ctx.log(l);
  ctx.log(`(${res.runs.length} runs in ${formatDuration(res.seconds)}: ${res.runs.map((r) => `${r.variant}/${r.seed}=${r.run}`).join(', ')})`);
  for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
  return { ...res };
};

/** The experiment's stages, evaluation bars, and validation scores at most every 2 s. */
function experimentPrinter(err: (line: string) => void): (e: OpEvent) => void {
  let lastEpoch = 0;
  return stagePrinter(err, (t) => {
    if (t.type === 'epoch' && Date.now() - lastEpoch > 2000) {
      lastEpoch = Date.now();
      err(`  epoch ${t.epoch + 1}/${t.epochs}: val score ${t.val.score.toFixed(3)}`);
    }
  });
}
