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
 * batch rows and gradients travel as transferred Float32Arrays. Gradients are summed in worker
 * order, whatever order they arrive in, so a step is deterministic for a given worker count.
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
  /** the caller's backend, so every worker computes like the caller */
  backend: string;
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
}

/** StepOptions without tensors (the fixed predictions travel as wire tensors). */
export type WireOptions = Omit<StepOptions, 'classPred' | 'predCaptions'> & {
  classPred?: WireTensor<Int32Array>;
  predCaptions?: WireTensor<Int32Array>;
};

/** host → worker */
export type ToWorker = { type: 'step'; id: number; variant: Variant; batch: WireBatch; opts: WireOptions };
/** worker → host */
export type FromWorker =
  | { type: 'ready' }
  | {
      type: 'grads';
      id: number;
      grads: Record<string, Float32Array>;
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
  pack: number;
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
  /** the parts' gradients summed and made tensors */
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

  private constructor(
    readonly workers: Worker[],
    private readonly layout: ParamLayout[],
    private readonly shared: Float32Array,
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
    const init: WorkerInit = { layout, params, backend };
    const workers = Array.from({ length: count }, () => startModuleWorker(WORKER_MODULE, init));
    const pool = new GradientWorkers(workers, layout, new Float32Array(params));
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
      this.shared.set(t.dataSync() as Float32Array, offset);
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
    let t2 = t1;
    const replies = await Promise.all(
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
        const asked = this.ask(this.workers[i], { type: 'step', id: this.nextId++, variant, batch: part, opts: o }, buffers);
        t2 = performance.now();
        return asked;
      }),
    );
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

  /** The parts' gradients summed in worker order, their losses added, their predictions concatenated. */
  private sum(replies: GradsReply[]): StepResult {
    const grads: Record<string, tf.Tensor> = {};
    for (const { name, shape } of this.layout) {
      const first = replies[0].grads[name];
      if (!first) continue;
      const acc = first;
      for (const r of replies.slice(1)) {
        const g = r.grads[name];
        for (let i = 0; i < acc.length; i++) acc[i] += g[i];
      }
      grads[name] = tf.tensor(acc, shape);
    }
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
