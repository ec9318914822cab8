import { withOpContext } from '../../api/ops/context.ts';
import { extractFeatures, extractRequest } from '../../api/ops/encoders.ts';
import { cancelOnSigint } from '../cancel.ts';
import type { Command } from '../context.ts';
import { jobPrinter } from '../progress.ts';
import { parseRequest } from '../request.ts';

/**
 * `plumage extract [--encoder ID] [--encoder-path DIR] [--feature-node NAME] [--tiles N] [--collection ID]
 * [--batch N] --json`: features of every image into the cache (resumable; bad images skipped).
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: extractRequest,
    rename: { collectionId: 'collection', batchSize: 'batch' },
    usage: 'usage: plumage extract [--encoder ID] [--encoder-path DIR] [--feature-node NAME] [--tiles N] [--collection ID] [--batch N]',
  });
  const res = await cancelOnSigint((signal) =>
    withOpContext(ctx.home, (op) => extractFeatures(op, request, { signal, emit: jobPrinter(ctx.err) })),
  );
  ctx.log(
    `encoder ${res.encoder} (${res.encoder_origin}, ${res.shape.join('x')}): ${res.extracted} extracted, ${res.cached} already cached, ${res.errors.length} failed, ${res.images_per_s.toFixed(1)} images/s`,
  );
  for (const e of res.errors) ctx.err(`skipped ${e.path}: ${e.reason}`);
  for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
  return { ...res };
};
