import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { Progress } from '../progress.ts';
import { runExtract } from '../../jobs/extract.ts';
import { initBackend } from '../../ml/backend.ts';

/**
 * `plumage extract [--encoder ID] [--encoder-path DIR] [--feature-node NAME] [--collection ID]
 * [--batch N] --json`: features of every image into the cache (resumable; bad images skipped).
 */
export const run: Command = async (ctx) => {
  const { values } = parseCommandArgs(
    ctx.argv,
    {
      encoder: { type: 'string' },
      'encoder-path': { type: 'string' },
      'feature-node': { type: 'string' },
      collection: { type: 'string' },
      batch: { type: 'string' },
    },
    false,
  );
  const collectionId = values.collection !== undefined ? Number(values.collection) : undefined;
  if (collectionId !== undefined && !Number.isInteger(collectionId))
    throw usageError('--collection needs a numeric id');
  const batchSize = values.batch ? Number(values.batch) : 8;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw usageError('--batch needs a positive integer');
  await initBackend();
  let bar: Progress | null = null;
  let dl: Progress | null = null;
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    const res = await runExtract({
      home: ctx.home,
      encoder: values.encoder,
      encoderPath: values['encoder-path'],
      featureNode: values['feature-node'],
      collectionId,
      batchSize,
      signal: ac.signal,
      onWarning: (w) => ctx.err(`WARNING: ${w}`),
      onDownload: (done, total) => {
        dl ??= new Progress('download', total, 'B');
        dl.set(done);
      },
      onProgress: (done, total) => {
        bar ??= new Progress('extract', total, 'img');
        bar.set(done);
      },
    });
    (bar as Progress | null)?.finish();
    ctx.log(
      `encoder ${res.encoder} (${res.encoder_origin}, ${res.shape.join('x')}): ${res.extracted} extracted, ${res.cached} already cached, ${res.errors.length} failed, ${res.images_per_s.toFixed(1)} images/s`,
    );
    for (const e of res.errors) ctx.err(`skipped ${e.path}: ${e.reason}`);
    for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
    return { ...res };
  } finally {
    process.off('SIGINT', onSigint);
  }
};
