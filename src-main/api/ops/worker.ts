import type { JobDetail } from '../../../shared/types.ts';
import { runInWorker } from '../../jobs/worker-host.ts';
import type { InsightTask } from '../../jobs/worker-insights.ts';
import { cancelOnAbort, type JobIo } from './context.ts';

/** The TF.js job worker: the .ts source in development, the bundled .js beside main.js in a build. */
const INSIGHTS_WORKER = import.meta.url.endsWith('.ts')
  ? new URL('../../jobs/worker-insights.ts', import.meta.url)
  : new URL('./worker-insights.js', import.meta.url);

/**
 * Runs a TF.js task (score, evaluate, caption) in a worker thread so the caller's event loop
 * stays free (the api answers requests, the CLI handles Ctrl-C); its progress becomes `phase` events.
 */
export function inWorker<R>(task: InsightTask, io: JobIo, phase: JobDetail['phase'], message?: string): Promise<R> {
  const h = runInWorker<R, { done: number; total: number } | { warning: string }>(INSIGHTS_WORKER, task, (e) =>
    io.emit(
      'warning' in e
        ? { type: 'warning', message: e.warning }
        : { type: 'progress', done: e.done, total: e.total, ...(message ? { message } : {}), detail: { phase } },
    ),
  );
  return cancelOnAbort(io.signal, () => h.cancel(), h.result);
}
