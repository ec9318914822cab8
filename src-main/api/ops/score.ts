import type { PredictJobResult } from '../../../shared/types.ts';
import type { JobIo, OpContext } from './context.ts';
import { runOrLatest } from './runs.ts';
import { inWorker } from './worker.ts';

/**
 * Scores every photo of the collection with a run and stores the predictions: the gallery's
 * suggestions, the review queue (disagreement) and the confusion cells all read them. Training
 * and evaluation end with this in every shell.
 */
export async function scoreCollection(
  ctx: OpContext,
  req: { runId?: string },
  io: JobIo,
  message?: string,
): Promise<PredictJobResult> {
  const runId = runOrLatest(ctx.db, req.runId, 'score');
  const r = await inWorker<PredictJobResult>({ task: 'predict', home: ctx.ws.home, runId }, io, 'predict', message);
  ctx.imagesChanged([]);
  return r;
}
