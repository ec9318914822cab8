import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { formatDuration } from '../progress.ts';
import {
  DIMS,
  RECIPES,
  type DimsPreset,
  type OptimizerName,
  type RecipeName,
  type TrainConfig,
  withRecipe,
} from '../../jobs/train/config.ts';
import { startTrainingWorker, type TrainEvent } from '../../jobs/train/loop.ts';
import { VARIANTS, type Variant } from '../../ml/model.ts';
import { initBackend } from '../../ml/backend.ts';

const num = (v: string | undefined, name: string, int = false): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)))
    throw usageError(`--${name} needs a ${int ? 'whole ' : ''}number`);
  return n;
};

/**
 * `plumage train --variant cnn|lrcn|medi|cam [--recipe fast|paper] [--encoder E] [--encoder-path DIR] [--epochs N]
 * [--batch 128] [--lr 0.1] [--optimizer sgd|momentum|adam] [--lambda 1] [--mu 0] [--part-masks] [--part-sigma 0.08] [--seed N]
 * [--dims paper|small|tiny] [--split S] [--patience N] [--clip X] [--schedule constant|cosine]
 * [--warm-start RUN] [--resume RUN] --json`
 */
export const run: Command = async (ctx) => {
  const { values } = parseCommandArgs(
    ctx.argv,
    {
      variant: { type: 'string' },
      recipe: { type: 'string' },
      encoder: { type: 'string' },
      'encoder-path': { type: 'string' },
      epochs: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      optimizer: { type: 'string' },
      lambda: { type: 'string' },
      mu: { type: 'string' },
      'part-masks': { type: 'boolean' },
      'part-sigma': { type: 'string' },
      seed: { type: 'string' },
      dims: { type: 'string' },
      split: { type: 'string' },
      collection: { type: 'string' },
      patience: { type: 'string' },
      'max-len': { type: 'string' },
      'min-count': { type: 'string' },
      clip: { type: 'string' },
      schedule: { type: 'string' },
      'warm-start': { type: 'string' },
      resume: { type: 'string' },
    },
    false,
  );
  const variant = values.variant as Variant | undefined;
  if (!values.resume && (!variant || !VARIANTS.includes(variant)))
    throw usageError(`--variant must be one of ${VARIANTS.join(', ')}`);
  if (values.optimizer && !['sgd', 'momentum', 'adam'].includes(values.optimizer))
    throw usageError('--optimizer must be sgd, momentum or adam');
  if (values.schedule && !['constant', 'cosine'].includes(values.schedule))
    throw usageError('--schedule must be constant or cosine');
  if (values.dims && !(values.dims in DIMS))
    throw usageError(`--dims must be one of ${Object.keys(DIMS).join(', ')}`);
  const recipe = (values.recipe ?? 'fast') as RecipeName;
  if (!(recipe in RECIPES))
    throw usageError(`--recipe must be one of ${Object.keys(RECIPES).join(', ')}`);
  const given: Partial<TrainConfig> & { variant: Variant } = {
    variant: variant ?? 'cam',
    encoder: values.encoder,
    encoderPath: values['encoder-path'],
    epochs: num(values.epochs, 'epochs', true),
    batch: num(values.batch, 'batch', true),
    lr: num(values.lr, 'lr'),
    optimizer: values.optimizer as OptimizerName | undefined,
    lambda: num(values.lambda, 'lambda'),
    mu: num(values.mu, 'mu'),
    partMasks: values['part-masks'] ? true : undefined,
    partSigma: num(values['part-sigma'], 'part-sigma'),
    seed: num(values.seed, 'seed', true),
    dims: values.dims as DimsPreset | undefined,
    split: values.split,
    collectionId: num(values.collection, 'collection', true),
    patience: num(values.patience, 'patience', true),
    maxLen: num(values['max-len'], 'max-len', true),
    minCount: num(values['min-count'], 'min-count', true),
    clip: num(values.clip, 'clip'),
    schedule: values.schedule as 'constant' | 'cosine' | undefined,
    warmStart: values['warm-start'],
  };
  // the recipe fills in every option not given (a resumed run keeps its own config)
  const config = values.resume ? given : withRecipe(recipe, given);
  await initBackend();
  let last = 0;
  const tty = Boolean(process.stderr.isTTY);
  const onEvent = (e: TrainEvent) => {
    if (e.type === 'log') ctx.err(e.message ?? '');
    else if (e.type === 'start')
      ctx.err(
        `run ${e.run}: ${e.epochs} epochs × ${e.steps} steps` +
          (e.estimateSec !== undefined ? `, estimated ${formatDuration(e.estimateSec)}` : ''),
      );
    else if (e.type === 'step') {
      const now = Date.now();
      if (now - last < (tty ? 200 : 2000) && e.step !== e.steps) return;
      last = now;
      const l = e.losses!;
      const line = `epoch ${e.epoch! + 1}/${e.epochs} step ${e.step}/${e.steps} class ${l.class.toFixed(3)} caption ${l.caption.toFixed(3)} cam ${l.cam.toFixed(3)} | ${e.pairsPerSec!.toFixed(1)} pairs/s ETA ${e.etaSec !== undefined ? formatDuration(e.etaSec) : '?'}`;
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    } else if (e.type === 'epoch') {
      const v = e.val!;
      if (tty) process.stderr.write('\n');
      ctx.err(
        `epoch ${e.epoch! + 1}: val top-1 ${v.top1 === null ? '-' : v.top1.toFixed(3)} caption loss ${v.captionLoss === null ? '-' : v.captionLoss.toFixed(3)} score ${v.score.toFixed(3)}`,
      );
    }
  };
  const handle = await startTrainingWorker({ home: ctx.home, config, resume: values.resume }, onEvent);
  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (interrupted === 1) {
      ctx.err(
        '\ncancelling after the current step (a resumable checkpoint is written; Ctrl-C again to abort)…',
      );
      handle.cancel();
    } else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  try {
    const res = await handle.result;
    if (res.status === 'cancelled')
      ctx.log(
        `run ${res.run} cancelled at step ${res.steps}; resume with: plumage train --resume ${res.run}`,
      );
    else
      ctx.log(
        `run ${res.run} (${res.variant}) done: ${res.epochs_run} epochs, best epoch ${res.best_epoch + 1}` +
          (res.test ? `, test top-1 ${res.test.top1 ?? '-'} top-5 ${res.test.top5 ?? '-'}` : ''),
      );
    for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
    return { ...res };
  } finally {
    process.off('SIGINT', onSigint);
  }
};
