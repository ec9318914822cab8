import { z } from 'zod';
import type { EvalResult } from '../../jobs/evaluate.ts';

export type { EvalResult };
import type { PredictJobResult } from '../../../shared/types.ts';
import type { JobIo, OpContext } from './context.ts';
import { requireRun } from './runs.ts';
import { LIMITS, name, runId } from './schemas.ts';
import { scoreCollection } from './score.ts';
import { inWorker } from './worker.ts';

export const evaluateRequest = z.strictObject({
  runId,
  /** Split scheme (default: the run's own). */
  scheme: name.optional(),
  /** Part of the scheme (default 'test'). */
  part: name.optional(),
  batchSize: z.number().int().min(1).max(LIMITS.page).optional(),
});
export type EvaluateRequest = z.infer<typeof evaluateRequest>;

export interface EvaluateOutcome {
  metrics: EvalResult;
  scored: PredictJobResult;
}

/**
 * Evaluates a run on its test part (metrics stored with the run), then scores the collection with
 * it so the confusion cells, suggestions and the review queue work for this run.
 */
export async function evaluateAndScore(ctx: OpContext, req: EvaluateRequest, io: JobIo): Promise<EvaluateOutcome> {
  const metrics = await evaluateMetrics(ctx, req, io);
  const scored = await scoreCollection(ctx, { runId: req.runId }, io, 'scoring the collection');
  return { metrics, scored };
}

/** Evaluates a run on its test part and stores the metrics with the run (for callers that scored the collection already). */
export function evaluateMetrics(ctx: OpContext, req: EvaluateRequest, io: JobIo): Promise<EvalResult> {
  requireRun(ctx.db, req.runId);
  return inWorker<EvalResult>({ task: 'evaluate', home: ctx.ws.home, ...req }, io, 'evaluate');
}

/** The headline numbers of a result (what a job result carries; the full metrics stay with the run). */
export function headline(r: EvalResult): Record<string, number | string | null> {
  return Object.fromEntries(
    Object.entries(r).filter(([, v]) => typeof v === 'number' || typeof v === 'string' || v === null),
  ) as Record<string, number | string | null>;
}
