/** Worker-thread entry of the training job (see worker-host.ts for the message protocol). */
import { parentPort, workerData } from 'node:worker_threads';
import { toWorkerError } from '../../util/errors.ts';
import { runTraining, type TrainEvent, type TrainOptions } from './loop.ts';

const port = parentPort!;
const ac = new AbortController();
port.on('message', (m: { type: string }) => {
  if (m.type === 'cancel') ac.abort();
});
const opts = workerData as Omit<TrainOptions, 'signal' | 'onEvent'>;
runTraining({
  ...opts,
  signal: ac.signal,
  onEvent: (event: TrainEvent) => port.postMessage({ type: 'event', event }),
})
  .then((result) => port.postMessage({ type: 'done', result }))
  .catch((e: unknown) => port.postMessage(toWorkerError(e)));
