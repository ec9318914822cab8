import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { Progress } from '../progress.ts';
import { runCaption } from '../../jobs/caption.ts';

/**
 * `plumage caption FOLDER --run ID --out F.csv|F.json [--beam 3] [--batch 8] [--encoder-path DIR] --json`:
 * caption + top-5 species for every photo under FOLDER; rerunning skips files already done.
 */
export const run: Command = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, {
    run: { type: 'string' },
    out: { type: 'string' },
    beam: { type: 'string' },
    batch: { type: 'string' },
    encoder: { type: 'string' },
    'encoder-path': { type: 'string' },
  });
  const folder = positionals[0];
  if (!folder || positionals.length > 1 || !values.run || !values.out) {
    throw usageError('usage: plumage caption FOLDER --run ID --out F.csv|F.json [--beam 3]');
  }
  if (!/\.(csv|json)$/i.test(values.out)) throw usageError('--out must end in .csv or .json');
  const beam = values.beam ? Number(values.beam) : 3;
  if (!Number.isInteger(beam) || beam < 1) throw usageError('--beam needs a positive integer');
  const batchSize = values.batch ? Number(values.batch) : 8;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw usageError('--batch needs a positive integer');
  let bar: Progress | null = null;
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    const res = await runCaption({
      home: ctx.home,
      folder,
      run: values.run,
      out: values.out,
      beam,
      batchSize,
      encoderPath: values['encoder-path'],
      encoder: values.encoder,
      signal: ac.signal,
      onWarning: (w) => ctx.err(`WARNING: ${w}`),
      onProgress: (d, t) => {
        bar ??= new Progress('caption', t, 'img');
        bar.set(d);
      },
    });
    (bar as Progress | null)?.finish();
    for (const e of res.errors) ctx.err(`skipped ${e.path}: ${e.reason}`);
    ctx.log(
      `${res.status}: ${res.captioned} captioned now, ${res.skipped_done} already done, ${res.errors.length} not images → ${res.out}`,
    );
    const { results, ...summary } = res;
    return { ...summary, results: results.length };
  } finally {
    process.off('SIGINT', onSigint);
  }
};
