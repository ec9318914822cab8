/**
 * Worker-thread entry for the TF.js jobs other than training — scoring a collection (predict),
 * evaluating a run, batch captioning a folder — so the caller's event loop stays free while they
 * compute (see worker-host.ts for the message protocol). Progress events are { done, total };
 * warnings are { warning }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toWorkerError } from '../util/errors.ts';
import type { CaptionOptions } from './caption.ts';

export type InsightTask =
  | { task: 'predict'; home: string; runId: string }
  | { task: 'evaluate'; home: string; runId: string; scheme?: string; part?: string; batchSize?: number }
  | ({ task: 'caption' } & Pick<CaptionOptions, 'home' | 'folder' | 'run' | 'out' | 'beam' | 'contrast' | 'batchSize' | 'encoder' | 'encoderPath'>);

const port = parentPort!;
const ac = new AbortController();
port.on('message', (m: { type: string }) => {
  if (m.type === 'cancel') ac.abort();
});
const onProgress = (done: number, total: number) => port.postMessage({ type: 'event', event: { done, total } });
const onWarning = (warning: string) => port.postMessage({ type: 'event', event: { warning } });

async function main(t: InsightTask): Promise<unknown> {
  if (t.task === 'predict') {
    const { predictCollection } = await import('./predict.ts');
    return predictCollection(t.home, t.runId, { signal: ac.signal, onProgress });
  }
  if (t.task === 'evaluate') {
    const { evaluateRun } = await import('./evaluate.ts');
    return evaluateRun({ home: t.home, runId: t.runId, scheme: t.scheme, part: t.part, batchSize: t.batchSize, onProgress });
  }
  const { runCaption } = await import('./caption.ts');
  const { home, folder, run, out, beam, contrast, batchSize, encoder, encoderPath } = t;
  return runCaption({ home, folder, run, out, beam, contrast, batchSize, encoder, encoderPath, signal: ac.signal, onProgress, onWarning });
}

main(workerData as InsightTask)
  .then((result) => port.postMessage({ type: 'done', result }))
  .catch((e: unknown) => port.postMessage(toWorkerError(e)));
