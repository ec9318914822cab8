/** Worker-thread entry of the training job (see worker-host.ts for the message protocol). */
import { parentPort, workerData } from 'node:worker_threads';
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
  .catch((e: Error) => port.postMessage({ type: 'error', message: e.message.split('\n')[0] }));
