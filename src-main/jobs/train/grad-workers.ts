/**
 * Data parallelism over worker threads: each training step's batch is split into contiguous parts,
 * one per worker; every worker runs its own TF.js instance (one wasm heap and thread each) and
 * computes its part's Algorithm-1 gradients weighted by the part's share of the whole batch
 * (StepOptions.share), so the parts' gradients sum to the whole batch's, exactly up to the order of
 * float32 sums. The caller applies the summed gradients once, on its own thread.
 *
 * Why: the wasm backend computes on one thread; TF.js cannot multithread it in Node, but separate
 * instances in separate threads can run at once (tfjs-node already uses every core by itself).
 *
 * Parameters reach the workers through one SharedArrayBuffer that the caller rewrites before each
 * step (workers only read it while a step is in flight, the caller only writes it between steps);
 * batch rows travel as transferred arrays. Gradients do not travel: each worker writes its part's
 * gradients into its own region of a second SharedArrayBuffer (on wasm straight from its heap),
 * waits at a barrier (Atomics) until every part is written, then sums one stripe of the elements
 * over the parts into region 0, in worker order (so a step is deterministic for a given worker
 * count and equal to adding the parts one after the other), and the caller reads region 0. The sum
 * thus runs on every worker at once instead of on the caller's thread. A part that fails aborts the
 * barrier for the others (the control word `ABORTED` names the step), so no worker waits forever.
 *
 * A worker that fails or exits turns the step (and every later one) into a one-line error; close()
 * ends every worker (training's end, cancel, failure).
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Batch, Losses, StepOptions, StepResult } from '../../ml/algorithm1.ts';
import type { ParamView, Variant } from '../../ml/model.ts';
import { fromWire, PlumageError } from '../../util/errors.ts';
import { startModuleWorker } from '../worker-host.ts';

/** Where each parameter lies in the shared buffer (float32 elements). */
export interface ParamLayout {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** What a worker is started with. */
export interface WorkerInit {
  layout: ParamLayout[];
  params: SharedArrayBuffer;
  /** `count` regions of the parameters' size: worker i writes its part's gradients into region i */
  grads: SharedArrayBuffer;
  /** Int32 control words: ARRIVED (parts written this step), ABORTED (the last step aborted) */
  control: SharedArrayBuffer;
  index: number;
  count: number;
  /** the caller's backend, so every worker computes like the caller */
  backend: string;
}

/** Control words of WorkerInit.control. */
export const ARRIVED = 0;
export const ABORTED = 1;

/**
 * A tensor's float32 values without a copy where the backend allows it (wasm: a view of its heap,
 * valid until the next allocation there, so use it at once); elsewhere dataSync.
 */
export function valuesOf(t: tf.Tensor): Float32Array {
  const b = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.TensorInfo) => Float32Array };
  return tf.getBackend() === 'wasm' && b.typedArrayFromHeap && t.dtype === 'float32'
    ? b.typedArrayFromHeap(t)
    : (t.dataSync() as Float32Array);
}

/**
 * A float32 tensor of values that live in a shared buffer. wasm copies them into its heap at once;
 * other backends may keep the array itself (tfjs-node writes lazily), so they get a copy of their own.
 */
export function tensorOfShared(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), shape, 'float32');
}

/** A wire tensor: its values (a buffer of its own, transferable) and shape. */
export interface WireTensor<A extends Float32Array | Int32Array = Float32Array | Int32Array> {
  data: A;
  shape: number[];
}

export interface WireBatch {
  A?: WireTensor<Float32Array>;
  v?: WireTensor<Float32Array>;
  labels: WireTensor<Int32Array>;
  captions: WireTensor<Int32Array>;
  masks?: WireTensor<Float32Array>;
  maskRows?: WireTensor<Float32Array>;
  references?: WireTensor<Int32Array>;
}

/** StepOptions without tensors (the fixed predictions travel as wire tensors). */
export type WireOptions = Omit<StepOptions, 'classPred' | 'predCaptions'> & {
  classPred?: WireTensor<Int32Array>;
  predCaptions?: WireTensor<Int32Array>;
};

/**
 * host → worker (`step`: the step's number, the same for every part; `id`: this message's;
 * `parts`: how many workers compute this step, the first `parts` ones: fewer when a batch has fewer
 * rows than there are workers)
 */
export type ToWorker = {
  type: 'step';
  id: number;
  step: number;
  parts: number;
  variant: Variant;
  batch: WireBatch;
  opts: WireOptions;
};
/** worker → host */
export type FromWorker =
  | { type: 'ready' }
  | {
      type: 'grads';
      id: number;
      /** the parameters that have a gradient (its sum over the parts is in region 0 of `grads`) */
      names: string[];
      losses: Losses;
      /** the worker's own ms per phase of this step (reading parameters and rows, computing, packing) */
      phases: WorkerPhases;
      classPred?: WireTensor<Int32Array>;
      predCaptions?: WireTensor<Int32Array>;
    }
  | { type: 'error'; id?: number; message: string; code?: string };

type GradsReply = Extract<FromWorker, { type: 'grads' }>;

/** Where a worker's time in one step went (ms of wall time on its thread; cpu: its CPU ms). */
export interface WorkerPhases {
  params: number;
  batch: number;
  compute: number;
  /** gradients written into the shared buffer, predictions packed */
  pack: number;
  /** waiting at the barrier, then summing this worker's stripe */
  reduce: number;
  cpu: number;
}

/** Where the last step's time went on the calling thread (ms), and each worker's phases. */
export interface StepPhases {
  /** parameters into the shared buffer */
  publish: number;
  /** the batch read and cut into parts, the messages posted */
  send: number;
  /** from the last message posted to the last reply received */
  wait: number;
  /** the summed gradients made tensors, losses and predictions joined */
  sum: number;
  workers: WorkerPhases[];
}

const WORKER_MODULE = new URL('./worker-grads.ts', import.meta.url);

/** Rows [start, start+count) of a tensor's values, in a buffer of their own. */
function rowsOf<A extends Float32Array | Int32Array>(data: A, shape: number[], start: number, count: number): WireTensor<A> {
  const row = shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: data.slice(start * row, (start + count) * row) as A, shape: [count, ...shape.slice(1)] };
}

/** The batch's and the options' tensors as plain arrays, read once per step. */
function readBatch(batch: Batch, opts: StepOptions) {
  const read = <A extends Float32Array | Int32Array>(t?: tf.Tensor) =>
    t ? { data: t.dataSync() as A, shape: t.shape } : undefined;
  return {
    A: read<Float32Array>(batch.A),
    v: read<Float32Array>(batch.v),
    labels: read<Int32Array>(batch.labels)!,
    captions: read<Int32Array>(batch.captions)!,
    masks: read<Float32Array>(batch.masks),
    maskRows: read<Float32Array>(batch.maskRows),
    references: read<Int32Array>(batch.references),
    classPred: read<Int32Array>(opts.classPred),
    predCaptions: read<Int32Array>(opts.predCaptions),
  };
}

/** Non-PAD target tokens (positions 1…T−1) of a [B,T] caption array: L_caption's divisor. */
export function targetTokens(captions: Int32Array, T: number): number {
  let n = 0;
  for (let i = 0; i < captions.length; i++) if (i % T !== 0 && captions[i] !== 0) n++;
  return n;
}

/** Contiguous parts of B rows over n workers, as even as possible (no empty part). */
export function splitRows(B: number, n: number): { start: number; count: number }[] {
  const parts = Math.min(n, B);
  const out: { start: number; count: number }[] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const count = Math.floor(B / parts) + (i < B % parts ? 1 : 0);
    out.push({ start, count });
    start += count;
  }
  return out;
}

/**
 * A step's multiply-adds below which the split does not pay by default: each worker repeats every
 * op's JavaScript dispatch, which small models are made of. Measured on wasm, 2 loaded cores
 * (docs/model.md, "Data parallelism over worker threads"): small widths, cam, B=32 (~10 GFLOP)
 * 0.7–0.9×, i.e. slower, with 33–45% more CPU; paper widths, cam, B=32 (~150 GFLOP) 30–40% more
 * CPU, so ≈ 1.4× faster when both cores are free (1.07× and 0.77× on the loaded cores measured).
 */
export const SPLIT_MIN_FLOPS = 50e9;

/**
 * How many workers a training session computes its steps on: the number asked for; else, on wasm
 * (one thread per instance), every core when a step is big enough to pay (SPLIT_MIN_FLOPS), and 1
 * elsewhere (tfjs-node spreads each kernel over the cores itself); never more than the batch's rows.
 */
export function stepWorkers(backend: string, batch: number, stepFlops: number, asked?: number): number {
  const n = asked ?? (backend === 'wasm' && stepFlops >= SPLIT_MIN_FLOPS ? availableParallelism() : 1);
  return Math.max(1, Math.min(n, batch));
}

interface Pending {
  resolve: (r: GradsReply) => void;
  reject: (e: Error) => void;
}

export class GradientWorkers {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  private closing = false;
  /** where the last step's time went (for the benchmarks) */
  lastPhases: StepPhases | null = null;

  private nextStep = 1;

  private constructor(
    readonly workers: Worker[],
    private readonly layout: ParamLayout[],
    private readonly shared: Float32Array,
    /** region 0 of the gradients' buffer: the parts' sum after a step */
    private readonly summed: Float32Array,
    private readonly control: Int32Array,
  ) {}

  /** Starts `count` workers on the caller's backend with the parameters' layout; resolves when all are ready. */
  static async start(P: ParamView, count: number, backend: string): Promise<GradientWorkers> {
    const layout: ParamLayout[] = [];
    let offset = 0;
    for (const [name, t] of Object.entries(P)) {
      layout.push({ name, shape: t.shape, offset, size: t.size });
      offset += t.size;
    }
    const params = new SharedArrayBuffer(offset * 4);
    const grads = new SharedArrayBuffer(count * offset * 4);
    const control = new SharedArrayBuffer(2 * 4);
    const init: Omit<WorkerInit, 'index'> = { layout, params, grads, control, count, backend };
    const workers = Array.from({ length: count }, (_, index) =>
      startModuleWorker(WORKER_MODULE, { ...init, index } satisfies WorkerInit),
    );
    const pool = new GradientWorkers(
      workers,
      layout,
      new Float32Array(params),
      new Float32Array(grads, 0, offset),
      new Int32Array(control),
    );
    try {
      await Promise.all(workers.map((w, i) => pool.watch(w, i)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Routes a worker's replies and turns its failure into the pool's; resolves on its 'ready'. */
  private watch(w: Worker, index: number): Promise<void> {
    return new Promise((ready, failed) => {
      const fail = (why: string) => {
        const e = new PlumageError('internal', `training worker ${index + 1} stopped: ${why}`);
        failed(e);
        this.fail(e);
      };
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') ready();
        else if (m.type === 'grads') this.settle(m.id, (p) => p.resolve(m));
        else if (m.id !== undefined) this.settle(m.id, (p) => p.reject(fromWire(m)));
        else fail(m.message);
      });
      w.on('error', (e) => fail(e.message.split('\n')[0]));
      w.on('exit', (code) => {
        if (!this.closing) fail(`it exited (code ${code})`);
      });
    });
  }

  private settle(id: number, f: (p: Pending) => void): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (p) f(p);
  }

  private fail(e: Error): void {
    if (this.closing) return;
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Copies the caller's current parameter values into the shared buffer. */
  private publish(P: ParamView): void {
    for (const { name, offset, size } of this.layout) {
      const t = P[name];
      if (!t || t.size !== size) throw new Error(`parameter ${name} does not match the workers' layout`);
      this.shared.set(valuesOf(t), offset);
    }
  }

  private ask(w: Worker, msg: ToWorker, transfer: ArrayBuffer[]): Promise<GradsReply> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      w.postMessage(msg, transfer);
    });
  }

  /**
   * Algorithm-1 gradients and losses of the whole batch, computed in parts by the workers and
   * summed here (same contract as algorithm1Grads; the caller disposes the gradients).
   */
  async grads(P: ParamView, variant: Variant, batch: Batch, opts: StepOptions = {}): Promise<StepResult> {
    if (this.failure) throw this.failure;
    if (this.closing) throw new Error('the training workers were closed');
    const t0 = performance.now();
    this.publish(P);
    const t1 = performance.now();
    const whole = readBatch(batch, opts);
    const [B, T] = whole.captions.shape;
    const tokens = targetTokens(whole.captions.data, T);
    // the fixed predictions travel as rows of each part; each part gets its own share
    const plain: WireOptions = { ...opts, classPred: undefined, predCaptions: undefined, share: undefined };
    const parts = splitRows(B, this.workers.length);
    const step = this.nextStep++;
    Atomics.store(this.control, ARRIVED, 0);
    let firstError: unknown = null;
    const abort = (e: unknown) => {
      firstError ??= e;
      // release the parts waiting at the barrier for the failed one
      Atomics.store(this.control, ABORTED, step);
      Atomics.notify(this.control, ARRIVED);
      throw e;
    };
    let t2 = t1;
    const settled = await Promise.allSettled(
      parts.map(({ start, count }, i) => {
        const rows = <A extends Float32Array | Int32Array>(t?: WireTensor<A>) =>
          t ? rowsOf(t.data, t.shape, start, count) : undefined;
        const part: WireBatch = {
          A: rows(whole.A),
          v: rows(whole.v),
          labels: rows(whole.labels)!,
          captions: rows(whole.captions)!,
          masks: rows(whole.masks),
          maskRows: rows(whole.maskRows),
          references: rows(whole.references),
        };
        const o: WireOptions = {
          ...plain,
          classPred: rows(whole.classPred),
          predCaptions: rows(whole.predCaptions),
          share: { offset: start, rows: B, tokens },
        };
        const buffers = [...Object.values(part), o.classPred, o.predCaptions]
          .filter((t): t is WireTensor => !!t)
          .map((t) => t.data.buffer as ArrayBuffer);
        const asked = this.ask(this.workers[i], { type: 'step', id: this.nextId++, step, parts: parts.length, variant, batch: part, opts: o }, buffers);
        t2 = performance.now();
        return asked.catch(abort);
      }),
    );
    if (firstError) throw firstError;
    const replies = settled.map((r) => (r as PromiseFulfilledResult<GradsReply>).value);
    const t3 = performance.now();
    const res = this.sum(replies);
    this.lastPhases = {
      publish: t1 - t0,
      send: t2 - t1,
      wait: t3 - t2,
      sum: performance.now() - t3,
      workers: replies.map((r) => r.phases),
    };
    return res;
  }

  /** The summed gradients (region 0) as tensors, the parts' losses added, their predictions concatenated. */
  private sum(replies: GradsReply[]): StepResult {
    const grads: Record<string, tf.Tensor> = {};
    const names = new Set(replies[0].names);
    for (const { name, shape, offset, size } of this.layout)
      if (names.has(name)) grads[name] = tensorOfShared(this.summed.subarray(offset, offset + size), shape);
    const losses: Losses = { class: 0, caption: 0, cam: 0, mask: 0, total: 0 };
    for (const r of replies) for (const k of Object.keys(losses) as (keyof Losses)[]) losses[k] += r.losses[k];
    const joined = (pick: (r: GradsReply) => WireTensor<Int32Array> | undefined) => {
      const ts = replies.map(pick);
      if (ts.some((t) => !t)) return undefined;
      const shape = [ts.reduce((a, t) => a + t!.shape[0], 0), ...ts[0]!.shape.slice(1)];
      const data = new Int32Array(shape.reduce((a, b) => a * b, 1));
      let at = 0;
      for (const t of ts) {
        data.set(t!.data, at);
        at += t!.data.length;
      }
      return { data, shape };
    };
    const cp = joined((r) => r.classPred);
    const pc = joined((r) => r.predCaptions);
    return {
      losses,
      grads,
      classPred: cp ? tf.tensor1d(cp.data, 'int32') : undefined,
      predCaptions: pc ? tf.tensor2d(pc.data, pc.shape as [number, number], 'int32') : undefined,
    };
  }

  /** Ends every worker (idempotent); a step in flight fails with a one-line error. */
  async close(): Promise<void> {
    if (!this.closing) {
      const e = new Error('the training workers were closed');
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    }
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
