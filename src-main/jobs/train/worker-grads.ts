/**
 * Worker-thread entry of the training step's data parallelism (grad-workers.ts has the protocol):
 * starts the caller's backend, then for each step reads the parameters from the shared buffer,
 * computes its part's weighted Algorithm-1 gradients and posts them back (transferred).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { algorithm1Grads, type Batch, type StepOptions } from '../../ml/algorithm1.ts';
import { initBackend } from '../../ml/backend.ts';
import type { ParamView } from '../../ml/model.ts';
import { toWorkerError } from '../../util/errors.ts';
import type { FromWorker, ToWorker, WireBatch, WireOptions, WireTensor, WorkerInit } from './grad-workers.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const shared = new Float32Array(init.params);

/** The parameters as they are now in the shared buffer (copied: the caller rewrites it between steps). */
function readParams(): ParamView {
  const P: ParamView = {};
  for (const { name, shape, offset, size } of init.layout) P[name] = tf.tensor(shared.slice(offset, offset + size), shape);
  return P;
}

/** This thread's CPU ms so far (Linux: /proc/thread-self, 10 ms ticks), NaN where unknown. */
function threadCpuMs(): number {
  try {
    const f = readFileSync('/proc/thread-self/stat', 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10; // utime, stime (fields 14, 15) at 100 Hz
  } catch {
    return NaN;
  }
}

const toTensor = (t: WireTensor | undefined, dtype: 'float32' | 'int32') =>
  t ? tf.tensor(t.data, t.shape, dtype) : undefined;

function toBatch(b: WireBatch): Batch {
  return {
    A: toTensor(b.A, 'float32') as tf.Tensor4D | undefined,
    v: toTensor(b.v, 'float32') as tf.Tensor2D | undefined,
    labels: toTensor(b.labels, 'int32') as tf.Tensor1D,
    captions: toTensor(b.captions, 'int32') as tf.Tensor2D,
    masks: toTensor(b.masks, 'float32') as tf.Tensor3D | undefined,
    maskRows: toTensor(b.maskRows, 'float32') as tf.Tensor1D | undefined,
  };
}

/** A tensor's values in a buffer of their own (transferable without detaching anything else). */
function own<A extends Float32Array | Int32Array>(t: tf.Tensor): A {
  const a = t.dataSync() as A;
  return (a.byteOffset === 0 && a.buffer.byteLength === a.byteLength ? a : a.slice()) as A;
}

function step(m: ToWorker): { reply: FromWorker; transfer: ArrayBuffer[] } {
  const c0 = threadCpuMs();
  const t0 = performance.now();
  const P = readParams();
  const t1 = performance.now();
  const batch = toBatch(m.batch);
  const opts: StepOptions = {
    ...(m.opts as Omit<WireOptions, 'classPred' | 'predCaptions'>),
    classPred: toTensor(m.opts.classPred, 'int32') as tf.Tensor1D | undefined,
    predCaptions: toTensor(m.opts.predCaptions, 'int32') as tf.Tensor2D | undefined,
  };
  try {
    const t2 = performance.now();
    const res = algorithm1Grads(P, m.variant, batch, opts);
    const t3 = performance.now();
    const grads: Record<string, Float32Array> = {};
    for (const [n, g] of Object.entries(res.grads)) grads[n] = own<Float32Array>(g);
    const wire = (t?: tf.Tensor) => (t ? { data: own<Int32Array>(t), shape: t.shape } : undefined);
    const classPred = wire(res.classPred);
    const predCaptions = wire(res.predCaptions);
    const t4 = performance.now();
    const reply: FromWorker = {
      type: 'grads',
      id: m.id,
      grads,
      losses: res.losses,
      classPred,
      predCaptions,
      phases: { params: t1 - t0, batch: t2 - t1, compute: t3 - t2, pack: t4 - t3, cpu: threadCpuMs() - c0 },
    };
    tf.dispose([...Object.values(res.grads), res.classPred, res.predCaptions].filter((t): t is tf.Tensor => !!t));
    const transfer = [...Object.values(grads), reply.classPred?.data, reply.predCaptions?.data]
      .filter((a): a is Float32Array | Int32Array => !!a)
      .map((a) => a.buffer as ArrayBuffer);
    return { reply, transfer };
  } finally {
    tf.dispose([...Object.values(P), ...Object.values(batch), opts.classPred, opts.predCaptions].filter((t): t is tf.Tensor => !!t));
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type !== 'step') return;
  try {
    const { reply, transfer } = step(m);
    port.postMessage(reply, transfer);
  } catch (e) {
    port.postMessage({ ...toWorkerError(e), id: m.id });
  }
});

process.env.PLUMAGE_BACKEND = init.backend;
initBackend()
  .then(() => port.postMessage({ type: 'ready' } satisfies FromWorker))
  .catch((e: unknown) => port.postMessage(toWorkerError(e)));
