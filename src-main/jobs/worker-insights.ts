/**
 * Worker-thread entry for the app's TF.js jobs other than training — scoring a collection
 * (predict), evaluating a run, batch captioning a folder — so the api's event loop stays free
 * while they compute (see worker-host.ts for the message protocol). Progress events are
 * { done, total }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toWorkerError } from '../util/errors.ts';

export type InsightTask =
  | { task: 'predict'; home: string; runId: string }
  | { task: 'evaluate'; home: string; runId: string }
  | { task: 'caption'; home: string; folder: string; run: string };

const port = parentPort!;
const ac = new AbortController();
port.on('message', (m: { type: string }) => {
  if (m.type === 'cancel') ac.abort();
});
const onProgress = (done: number, total: number) =>
  port.postMessage({ type: 'event', event: { done, total } });

async function main(t: InsightTask): Promise<unknown> {
  if (t.task === 'predict') {
    const { predictCollection } = await import('./predict.ts');
    return predictCollection(t.home, t.runId, { signal: ac.signal, onProgress });
  }
  if (t.task === 'evaluate') {
    const { evaluateRun } = await import('./evaluate.ts');
    const r = await evaluateRun({ home: t.home, runId: t.runId, onProgress });
    // The stored metrics are the full result; the job result only needs the headline numbers.
    return Object.fromEntries(
      Object.entries(r).filter(([, v]) => typeof v === 'number' || typeof v === 'string' || v === null),
    );
  }
  const { runCaption } = await import('./caption.ts');
  const r = await runCaption({ home: t.home, folder: t.folder, run: t.run, signal: ac.signal, onProgress });
  return { ...r, results: undefined };
}

main(workerData as InsightTask)
  .then((result) => port.postMessage({ type: 'done', result }))
  .catch((e: unknown) => port.postMessage(toWorkerError(e)));
