/**
 * Worker-thread entry of the training step's data parallelism (grad-workers.ts has the protocol):
 * starts the caller's backend, then for each step reads the parameters from the shared buffer,
 * computes its part's weighted Algorithm-1 gradients, writes them into its region of the shared
 * gradients, waits for the other parts and sums its stripe of the elements over the parts.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { algorithm1Grads, type Batch, type StepOptions } from '../../ml/algorithm1.ts';
import { initBackend } from '../../ml/backend.ts';
import type { ParamView } from '../../ml/model.ts';
import { toWorkerError } from '../../util/errors.ts';
import {
  ABORTED,
  ARRIVED,
  type FromWorker,
  tensorOfShared,
  type ToWorker,
  valuesOf,
  type WireBatch,
  type WireOptions,
  type WireTensor,
  type WorkerInit,
} from './grad-workers.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const shared = new Float32Array(init.params);
const total = shared.length;
const control = new Int32Array(init.control);
/** region r of the shared gradients */
const region = (r: number) => new Float32Array(init.grads, r * total * 4, total);
const mine = region(init.index);

/** The parameters as they are now in the shared buffer (copied: the caller rewrites it between steps). */
function readParams(): ParamView {
  const P: ParamView = {};
  for (const { name, shape, offset, size } of init.layout) P[name] = tensorOfShared(shared.subarray(offset, offset + size), shape);
  return P;
}

/**
 * Waits until the step's `parts` parts are written (or the caller aborts the step), then sums this
 * worker's stripe of the elements over the parts into region 0, in part order: element by element
 * the float32 sums (((g0 + g1) + g2) + …) that one thread adding whole parts in order would do.
 */
function reduce(step: number, parts: number): void {
  Atomics.add(control, ARRIVED, 1);
  Atomics.notify(control, ARRIVED);
  for (;;) {
    const arrived = Atomics.load(control, ARRIVED);
    if (arrived >= parts) break;
    if (Atomics.load(control, ABORTED) === step) throw new Error('the step was aborted: another part failed');
    Atomics.wait(control, ARRIVED, arrived, 100);
  }
  const lo = Math.floor((total * init.index) / parts);
  const hi = Math.floor((total * (init.index + 1)) / parts);
  const acc = region(0);
  for (let p = 1; p < parts; p++) {
    const g = region(p);
    for (let i = lo; i < hi; i++) acc[i] += g[i];
  }
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
    references: toTensor(b.references, 'int32') as tf.Tensor3D | undefined,
  };
}

/** A tensor's values in a buffer of their own (transferable without detaching anything else). */
function own(t: tf.Tensor): Int32Array {
  const a = t.dataSync() as Int32Array;
  return a.byteOffset === 0 && a.buffer.byteLength === a.byteLength ? a : a.slice();
}

const offsets = new Map(init.layout.map((l) => [l.name, l]));

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
    let classPred: WireTensor<Int32Array> | undefined;
    let predCaptions: WireTensor<Int32Array> | undefined;
    try {
      for (const [n, g] of Object.entries(res.grads)) {
        const at = offsets.get(n);
        if (!at || at.size !== g.size) throw new Error(`gradient ${n} does not match the parameters' layout`);
        mine.set(valuesOf(g), at.offset);
      }
      const wire = (t?: tf.Tensor) => (t ? { data: own(t), shape: t.shape } : undefined);
      classPred = wire(res.classPred);
      predCaptions = wire(res.predCaptions);
    } finally {
      tf.dispose([...Object.values(res.grads), res.classPred, res.predCaptions].filter((t): t is tf.Tensor => !!t));
    }
    const t4 = performance.now();
    reduce(m.step, m.parts);
    const t5 = performance.now();
    const reply: FromWorker = {
      type: 'grads',
      id: m.id,
      names: Object.keys(res.grads),
      losses: res.losses,
      classPred,
      predCaptions,
      phases: { params: t1 - t0, batch: t2 - t1, compute: t3 - t2, pack: t4 - t3, reduce: t5 - t4, cpu: threadCpuMs() - c0 },
    };
    const transfer = [classPred?.data, predCaptions?.data]
      .filter((a): a is Int32Array => !!a)
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
