import { withOpContext, type OpEvent } from '../../api/ops/context.ts';
import { resumeRequest, train, trainRequest } from '../../api/ops/train.ts';
import type { TrainEvent } from '../../../shared/types.ts';
import { resolveBackend } from '../../api/ops/backends.ts';
import type { Command } from '../context.ts';
import { usageError } from '../errors.ts';
import { formatDuration } from '../progress.ts';
import { parseRequest } from '../request.ts';

const USAGE =
  'usage: plumage train --variant cnn|lrcn|medi|cam [--recipe standard|paper] [options] | plumage train --resume RUN [--epochs N] [--workers N]';

/**
 * `plumage train --variant V [--recipe standard|paper] [--encoder E] [--encoder-path DIR] [--epochs N]
 * [--batch B] [--lr X] [--optimizer sgd|momentum|adam] [--lambda X] [--mu X] [--part-masks]
 * [--part-sigma X] [--seed N] [--dims P] [--split S] [--collection ID] [--patience N] [--max-len T]
 * [--min-count N] [--clip X] [--schedule constant|cosine] [--warm-start RUN] [--checkpoint-minutes M] [--workers N] [--resume RUN] --json`:
 * every option is a field of the train operation's request (api/ops/train.ts); like the app, the
 * finished run then scores the collection.
 */
export const run: Command = async (ctx) => {
  const { request, extra } = parseRequest(ctx.argv, {
    schema: trainRequest.partial({ variant: true }),
    rename: { collectionId: 'collection' },
    extra: { resume: { type: 'string' } },
    usage: USAGE,
  });
  // --resume RUN continues a run with its own config; otherwise --variant is required
  const resume = typeof extra.resume === 'string' ? extra.resume : undefined;
  if (!resume && !request.variant) throw usageError(`--variant must be one of cnn, lrcn, medi, cam (${USAGE})`);
  const req = resume
    ? { resume: resumeRequest.parse({ runId: resume, epochs: request.epochs, workers: request.workers }) }
    : trainRequest.parse(request);
  await resolveBackend();
  const ac = new AbortController();
  let interrupted = 0;
  const onSigint = () => {
    if (++interrupted > 1) process.exit(130);
    ctx.err('\ncancelling after the current step (a resumable checkpoint is written; Ctrl-C again to abort)…');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const printer = trainPrinter(ctx.err);
    const res = await withOpContext(ctx.home, (op) =>
      train(op, req, { signal: ac.signal, emit: printer }),
    );
    if (res.status === 'cancelled')
      ctx.log(`run ${res.run} cancelled at step ${res.steps}; resume with: plumage train --resume ${res.run}`);
    else
      ctx.log(
        `run ${res.run} (${res.variant}) done: ${count(res.epochs_run, 'epoch')}, best epoch ${res.best_epoch + 1}` +
          (res.test ? `, test top-1 ${metric(res.test.top1)} top-5 ${metric(res.test.top5)}` : '') +
          (res.base_run ? ` (fine-tuned from medi run ${res.base_run})` : '') +
          (res.scored !== undefined ? `; scored ${res.scored} photos` : ''),
      );
    for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
    return { ...res };
  } finally {
    process.off('SIGINT', onSigint);
  }
};

/** Prints the trainer's events (start, throttled steps, epochs, log lines) and the scoring phase. */
function trainPrinter(err: (line: string) => void): (e: OpEvent) => void {
  let last = 0;
  let scoring = false;
  const tty = Boolean(process.stderr.isTTY);
  const onTrain = (e: TrainEvent) => {
    if (e.type === 'log') err(e.message ?? '');
    else if (e.type === 'start') {
      if (e.nextStage && e.estimateSec !== undefined)
        err(
          `both runs: estimated ${formatDuration(e.estimateSec + e.nextStage.estimateSec)} in all ` +
            `(medi ${formatDuration(e.estimateSec)}, then the ${e.nextStage.variant} fine-tune ${formatDuration(e.nextStage.estimateSec)})`,
        );
      err(`run ${e.run}: ${count(e.epochs, 'epoch')} × ${count(e.steps, 'step')}` + (e.estimateSec !== undefined ? `, estimated ${formatDuration(e.estimateSec)}` : ''));
    } else if (e.type === 'step') {
      const now = Date.now();
      if (now - last < (tty ? 200 : 2000) && e.step !== e.steps) return;
      last = now;
      const l = e.losses!;
      const line = `epoch ${e.epoch! + 1}/${e.epochs} step ${e.step}/${e.steps} class ${l.class.toFixed(3)} caption ${l.caption.toFixed(3)} cam ${l.cam.toFixed(3)} | ${e.pairsPerSec!.toFixed(1)} pairs/s ETA ${e.etaSec !== undefined ? formatDuration(e.etaSec) : '?'}`;
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    } else if (e.type === 'epoch') {
      const v = e.val!;
      if (tty) process.stderr.write('\n');
      err(
        `epoch ${e.epoch! + 1}: val top-1 ${v.top1 === null ? '-' : v.top1.toFixed(3)} caption loss ${v.captionLoss === null ? '-' : v.captionLoss.toFixed(3)} score ${v.score.toFixed(3)}`,
      );
    }
  };
  return (e) => {
    if (e.type === 'train') onTrain(e.event);
    else if (e.type === 'stage') err(e.message);
    // warnings come with the result (printed at the end)
    else if (e.type === 'progress' && e.detail?.phase === 'predict' && !scoring) {
      scoring = true;
      err('scoring the collection with the new run…');
    }
  };
}

/** A score as the summary line shows it: three decimals (the --json output keeps full precision). */
function metric(x: number | null | undefined): string {
  return typeof x === 'number' ? x.toFixed(3) : '-';
}

/** "1 epoch", "15 epochs". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
