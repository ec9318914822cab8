import { z } from 'zod';
import type { CaptionResult } from '../../jobs/caption.ts';
import { invalidRequest } from '../../util/errors.ts';
import type { JobIo, OpContext } from './context.ts';
import { runOrLatest } from './runs.ts';
import { LIMITS, name, path, runId } from './schemas.ts';
import { inWorker } from './worker.ts';

export const captionRequest = z.strictObject({
  folder: path,
  /** The run to caption with (default: the latest finished run). */
  runId: runId.optional(),
  /** Also write the results to this .csv or .json file. */
  out: path.optional(),
  beam: z.number().int().min(1).max(20).optional(),
  /** γ of the contrastive ranking (0 = plain beam search). */
  contrast: z.number().min(0).max(2).optional(),
  batchSize: z.number().int().min(1).max(LIMITS.page).optional(),
  encoder: name.optional(),
  encoderPath: path.optional(),
});
export type CaptionRequest = z.infer<typeof captionRequest>;

/**
 * Captions every photo under a folder (caption + top-5 species) as a batch job whose results the
 * app reviews; rerunning skips photos already done.
 */
export async function captionFolder(ctx: OpContext, req: CaptionRequest, io: JobIo): Promise<CaptionResult> {
  if (req.out && !/\.(csv|json)$/i.test(req.out)) throw invalidRequest('the output file must end in .csv or .json');
  const run = runOrLatest(ctx.db, req.runId, 'caption');
  const { folder, out, beam, contrast, batchSize, encoder, encoderPath } = req; // decoding and batch size default in the job (the product decoding; 32 photos at 224 px)
  return inWorker<CaptionResult>(
    { task: 'caption', home: ctx.ws.home, run, folder, out, beam, contrast, batchSize, encoder, encoderPath },
    io,
    'caption',
  );
}
