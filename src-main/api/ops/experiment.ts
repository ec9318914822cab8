import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EXPERIMENT_RECIPE_CHOICES, parseOverrides, runExperiment, type ExperimentResult } from '../../jobs/experiment.ts';
import type { JobIo, OpContext } from './context.ts';
import { id, LIMITS, name, path, variant } from './schemas.ts';

export type { ExperimentResult };
export { formatExperiment, formatPaired } from '../../jobs/experiment-table.ts';

const setting = z.string().min(1).max(LIMITS.name);

export const experimentRequest = z.strictObject({
  variants: z.array(variant).min(1).max(LIMITS.name).default(['cnn', 'lrcn', 'medi', 'cam']),
  seeds: z.array(z.number().int().min(0).max(2 ** 32 - 1)).min(1).max(LIMITS.name).default([1, 2, 3]),
  recipe: z.enum(EXPERIMENT_RECIPE_CHOICES).optional(),
  /** Training settings as key=value, applied to every variant after the recipe. */
  set: z.array(setting).max(LIMITS.name).default([]),
  /** key=value settings of cam's fine-tune from medi. */
  camSet: z.array(setting).max(LIMITS.name).default([]),
  /** Continue every other variant with cam's fine-tune settings too (same training budget). */
  equalBudget: z.boolean().default(false),
  split: name.optional(),
  collectionId: id.optional(),
  encoder: name.optional(),
  encoderPath: path
    .refine((d) => existsSync(join(d, 'model.json')), { error: (iss) => `--encoder-path ${String(iss.input)} has no model.json` })
    .optional(),
});
export type ExperimentRequest = z.infer<typeof experimentRequest>;

/**
 * Trains and evaluates every variant × seed under one recipe on a workspace that has images and
 * cached features, and summarises mean ± sd per variant (the paper's Table 2 over seeds).
 */
export function experiment(ctx: OpContext, req: ExperimentRequest, io: JobIo): Promise<ExperimentResult> {
  const { set, camSet, ...rest } = req;
  return runExperiment({
    home: ctx.ws.home,
    ...rest,
    set: parseOverrides(set),
    camSet: parseOverrides(camSet),
    signal: io.signal,
    onStage: (message) => io.emit({ type: 'stage', message }),
    onProgress: (done, total) => io.emit({ type: 'progress', done, total, message: 'evaluate', unit: 'img' }),
    onTrainEvent: (event) => io.emit({ type: 'train', event }),
  });
}
