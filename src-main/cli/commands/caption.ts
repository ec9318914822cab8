import { withOpContext } from '../../api/ops/context.ts';
import { captionFolder, captionRequest } from '../../api/ops/caption.ts';
import type { Command } from '../context.ts';
import { jobPrinter } from '../progress.ts';
import { parseRequest } from '../request.ts';

const USAGE = 'usage: plumage caption FOLDER --run ID --out F.csv|F.json [--beam 3] [--contrast 0.3] [--batch N]';

/**
 * `plumage caption FOLDER --run ID --out F.csv|F.json [--beam 3] [--contrast 0.3] [--batch N] [--encoder-path DIR] --json`:
 * caption + top-5 species for every photo under FOLDER (the batch-caption operation the app's
 * review uses); rerunning skips files already done.
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: captionRequest.required({ runId: true, out: true }),
    positionals: ['folder'],
    rename: { runId: 'run', batchSize: 'batch' },
    usage: USAGE,
  });
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    const res = await withOpContext(ctx.home, (op) => captionFolder(op, request, { signal: ac.signal, emit: jobPrinter(ctx.err) }));
    for (const e of res.errors) ctx.err(`skipped ${e.path}: ${e.reason}`);
    const unreadable = res.unreadable ? ` (${res.unreadable} folder ${res.unreadable === 1 ? 'entry' : 'entries'} could not be read)` : '';
    ctx.log(
      `${res.status}: ${res.captioned} captioned now, ${res.skipped_done} already done, ${res.errors.length} skipped${unreadable} → ${res.out}`,
    );
    const { results, ...summary } = res;
    return { ...summary, results: results.length };
  } finally {
    process.off('SIGINT', onSigint);
  }
};
