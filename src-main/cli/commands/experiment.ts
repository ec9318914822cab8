import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { formatDuration, Progress } from '../progress.ts';
import { parseOverrides, runExperiment } from '../../jobs/experiment.ts';
import { formatExperiment } from '../../jobs/experiment-table.ts';
import { VARIANTS, type Variant } from '../../ml/model.ts';

/**
 * `plumage experiment [--variants cnn,lrcn,medi,cam] [--seeds 1,2,3] [--recipe practical|demo|paper]
 * [--set key=value …] [--cam-set key=value …] [--split S] [--collection ID] [--encoder-path DIR] --json`:
 * trains and evaluates every variant × seed and prints the Table 2 layout with mean ± sd.
 */
export const run: Command = async (ctx) => {
  const { values } = parseCommandArgs(
    ctx.argv,
    {
      variants: { type: 'string' },
      seeds: { type: 'string' },
      recipe: { type: 'string' },
      set: { type: 'string', multiple: true },
      'cam-set': { type: 'string', multiple: true },
      split: { type: 'string' },
      collection: { type: 'string' },
      encoder: { type: 'string' },
      'encoder-path': { type: 'string' },
    },
    false,
  );
  const variants = (values.variants ?? 'cnn,lrcn,medi,cam').split(',').map((s) => s.trim()) as Variant[];
  if (variants.some((v) => !VARIANTS.includes(v))) throw usageError('--variants: a comma list of cnn, lrcn, medi, cam');
  const seeds = (values.seeds ?? '1,2,3').split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s))) throw usageError('--seeds: a comma list of whole numbers');
  const collection = values.collection !== undefined ? Number(values.collection) : undefined;
  if (collection !== undefined && !Number.isInteger(collection)) throw usageError('--collection needs a collection id');
  if (values['encoder-path'] && !existsSync(join(values['encoder-path'], 'model.json')))
    throw usageError(`--encoder-path ${values['encoder-path']} has no model.json`);
  const set = parseOverrides(values.set ?? []);
  const camSet = parseOverrides(values['cam-set'] ?? []);
  let bar: Progress | null = null;
  let lastEpoch = 0;
  const res = await runExperiment({
    home: ctx.home,
    variants,
    seeds,
    recipe: values.recipe,
    set,
    camSet,
    split: values.split,
    collectionId: collection,
    encoder: values.encoder,
    encoderPath: values['encoder-path'],
    onStage: (s) => {
      (bar as Progress | null)?.finish();
      bar = null;
      ctx.err(`== ${s}`);
    },
    onProgress: (done, total) => {
      bar ??= new Progress('evaluate', total, 'img');
      bar.set(done);
    },
    onTrainEvent: (e) => {
      if (e.type === 'epoch' && Date.now() - lastEpoch > 2000) {
        lastEpoch = Date.now();
        ctx.err(`  epoch ${e.epoch! + 1}/${e.epochs}: val score ${e.val?.score.toFixed(3) ?? '—'}`);
      }
    },
  });
  (bar as Progress | null)?.finish();
  ctx.log(`Recipe ${res.recipe}: ${res.recipe_description}`);
  if (Object.keys(res.set).length) ctx.log(`Settings: ${JSON.stringify(res.set)}`);
  if (Object.keys(res.cam_set).length) ctx.log(`cam fine-tune settings: ${JSON.stringify(res.cam_set)}`);
  for (const l of formatExperiment(res.summary)) ctx.log(l);
  ctx.log(`(${res.runs.length} runs in ${formatDuration(res.seconds)}: ${res.runs.map((r) => `${r.variant}/${r.seed}=${r.run}`).join(', ')})`);
  for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
  return res as unknown as Record<string, unknown>;
};
