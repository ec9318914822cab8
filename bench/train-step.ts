/**
 * ms per Algorithm-1 training step (forward, backward incl. the second-order L_cam gradient for
 * `cam`, SGD update) at the paper's sizes, per variant, with the ratio to the live PyTorch
 * reference measured in the same sitting (bench/lib/torch-ref.ts: the faster of 1 and 2 threads).
 * One JSON line each:
 *   {"bench":"train_step","variant":"cam","batch":32,"backend":"wasm","ms":…,"torch_ms":…,"ratio":…}
 * `cpu_ms` is this process's CPU time per step, a fairer figure when other processes compete
 * for the cores (`loadavg`). Then, per backend:
 *   {"bench":"train_step_memory",…}  peak tensor bytes and process peak RSS of one cam step at
 *                                    B=128, paper dims (when B=128 and cam are in the run);
 *   {"bench":"train_step_flat",…}    tensors and bytes held after step 5 and step 100 of a small
 *                                    cam model: any growth is a leak (`flat: false`).
 * `--quick`: B=32 only and fewer steps; `--steps N` timed steps per config (after one warm-up).
 * `--workers 1,2`: each config once per worker count (jobs/train/grad-workers.ts: the batch split
 * over that many threads, one TF.js instance each; 1 = this thread alone), interleaved, each line
 * naming its `workers` and, after the first count, its `speedup` over it.
 * `--dims paper|medium|small|tiny`: the widths (default paper; the recipes' presets), `--vocab V`
 * the vocabulary (default 5000); the PyTorch reference runs at the same widths.
 * `--variant cam[,medi]` / `--batch 32[,128]` restrict the configs; `--no-torch` skips the reference, `--no-flat` the 100-step check. The backend is
 * the process's (PLUMAGE_BACKEND), so bench/run.ts can run this once per backend.
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src-main/ml/backend.ts';
import { algorithm1Grads, type StepResult } from '../src-main/ml/algorithm1.ts';
import {
  BOS,
  EOS,
  FIRST_WORD,
  PAD,
  type ModelDims,
  type Variant,
  VARIANTS,
  initParams,
  rng,
} from '../src-main/ml/model.ts';
import { applyGrads, createOptimState } from '../src-main/ml/optim.ts';
import { DIMS, type DimsPreset } from '../src-main/jobs/train/config.ts';
import { GradientWorkers } from '../src-main/jobs/train/grad-workers.ts';
import { type TorchReference, torchMissing, torchReference } from './lib/torch-ref.ts';
import { median } from './lib/stats.ts';

export const PAPER_DIMS: ModelDims = { K: 1536, D: 1024, E: 512, Hd: 1024, V: 5000, C: 200 };
/** The flatness check's model: small enough for 100 steps in seconds, every code path of a cam step. */
const FLAT_DIMS: ModelDims = { K: 64, D: 32, E: 16, Hd: 32, V: 200, C: 10 };

export interface TrainStepBench {
  variant: Variant;
  batch: number;
  steps?: number;
  warmup?: number;
  dims?: ModelDims;
  HW?: number;
  T?: number;
  /** worker threads the step is split over (1: this thread) */
  workers?: number;
}

/** Seeded parameters and a random batch (uniform feature maps, random captions of 1…T−2 words). */
export function randomBatch(o: TrainStepBench) {
  const dims = o.dims ?? PAPER_DIMS;
  const HW = o.HW ?? 8;
  const T = o.T ?? 20;
  const B = o.batch;
  const r = rng(1);
  const P = initParams(o.variant, dims, 1);
  const A = tf.tidy(() => tf.randomUniform([B, HW, HW, dims.K], 0, 1, 'float32', 1) as tf.Tensor4D);
  const labels = tf.tensor1d(
    Array.from({ length: B }, () => Math.floor(r() * dims.C)),
    'int32',
  );
  const caps = new Int32Array(B * T).fill(PAD);
  for (let b = 0; b < B; b++) {
    const n = 1 + Math.floor(r() * (T - 2));
    caps[b * T] = BOS;
    for (let i = 1; i <= n; i++) caps[b * T + i] = FIRST_WORD + Math.floor(r() * (dims.V - FIRST_WORD));
    caps[b * T + n + 1] = EOS;
  }
  const captions = tf.tensor2d(caps, [B, T], 'int32');
  const dispose = () => {
    for (const t of [A, labels, captions, ...Object.values(P)]) t.dispose();
  };
  return { P, batch: { A, labels, captions }, dispose };
}

/** Seeded parameters, a random batch and one Algorithm-1 step + SGD update on them (in this thread). */
function trainingSetup(o: TrainStepBench) {
  const { P, batch, dispose } = randomBatch(o);
  const state = createOptimState();
  const update = (res: StepResult) => {
    applyGrads(P, res.grads, { kind: 'sgd', lr: 0.1 }, state);
    Object.values(res.grads).forEach((g) => g.dispose());
    res.classPred?.dispose();
    res.predCaptions?.dispose();
    return res.losses;
  };
  const step = () => update(algorithm1Grads(P, o.variant, batch, { lambda: 1 }));
  /** The same step with the batch split over worker threads. */
  const stepOn = async (pool: GradientWorkers) => update(await pool.grads(P, o.variant, batch, { lambda: 1 }));
  return { P, step, stepOn, dispose };
}


/** Median ms of `steps` timed training steps after `warmup` untimed ones. */
export async function benchTrainStep(o: TrainStepBench) {
  const { P, step, stepOn, dispose } = trainingSetup(o);
  const workers = o.workers ?? 1;
  const pool = workers > 1 ? await GradientWorkers.start(P, workers, (await initBackend()).name) : null;
  const times: number[] = [];
  const cpus: number[] = [];
  let losses: Record<string, number> = {};
  for (let s = 0; s < (o.warmup ?? 1) + (o.steps ?? 3); s++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    losses = { ...(pool ? await stepOn(pool) : step()) };
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (s >= (o.warmup ?? 1)) {
      times.push(dt);
      cpus.push((c.user + c.system) / 1000);
    }
  }
  await pool?.close();
  dispose();
  return {
    ms: median(times),
    min: Math.min(...times),
    cpuMs: median(cpus),
    loadavg: loadavg()[0],
    losses,
  };
}

/** Size of the wasm heap (it only grows, so this is its peak), or null on other backends. */
function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.byteLength ?? null;
}

const MB = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * Peak memory of one training step: the most bytes held by tensors at once (tf.profile, TF.js's
 * own accounting), the process's peak RSS so far, and on wasm the heap size.
 */
export async function peakMemoryOfStep(o: TrainStepBench) {
  const { step, dispose } = trainingSetup(o);
  const info = await tf.profile(() => {
    step();
  });
  dispose();
  const heap = wasmHeapBytes();
  return {
    peak_tensor_mb: MB(info.peakBytes),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    wasm_heap_mb: heap === null ? null : MB(heap),
  };
}

/** Tensors and bytes held after step `from` and after step `to`: equal when nothing leaks. */
export function flatnessCheck(o: TrainStepBench & { from: number; to: number }) {
  const { step, dispose } = trainingSetup(o);
  let start = tf.memory();
  let rssStart = 0;
  for (let s = 1; s <= o.to; s++) {
    step();
    if (s === o.from) {
      start = tf.memory();
      rssStart = process.memoryUsage().rss;
    }
  }
  const end = tf.memory();
  const rssEnd = process.memoryUsage().rss;
  dispose();
  return {
    tensors: [start.numTensors, end.numTensors],
    bytes: [start.numBytes, end.numBytes],
    rss_mb: [MB(rssStart), MB(rssEnd)],
    flat: start.numTensors === end.numTensors && start.numBytes === end.numBytes,
  };
}

/** The reference for one batch size, or the reason there is none (printed once per line). */
function referenceFor(variants: Variant[], batch: number, quick: boolean, skip: boolean, dims: ModelDims) {
  if (skip) return { ref: null, note: 'PyTorch reference skipped (--no-torch)' };
  const missing = torchMissing();
  if (missing) return { ref: null, note: `no ratio: ${missing}` };
  const steps = quick ? 2 : 3;
  process.stderr.write(`train-step: PyTorch reference, B=${batch}, 1 and 2 threads…\n`);
  const ref = torchReference(variants, batch, { steps, warmup: 1, dims });
  return { ref, note: null };
}

function printLine(
  variant: Variant,
  batch: number,
  backend: string,
  r: Awaited<ReturnType<typeof benchTrainStep>>,
  torch: { ref: TorchReference | null; note: string | null },
  split: { workers: number; dims: string; vocab: number; oneWorkerMs?: number },
) {
  const t = torch.ref?.timings.get(variant);
  const round = (x: number, d = 1) => Number(x.toFixed(d));
  const line = {
    bench: 'train_step',
    variant,
    batch,
    backend,
    ...(split.dims !== 'paper' ? { dims: split.dims } : {}),
    ...(split.vocab !== PAPER_DIMS.V ? { vocab: split.vocab } : {}),
    workers: split.workers,
    ms: round(r.ms),
    min_ms: round(r.min),
    // CPU time of this process per step: what the step costs when it has the cores to itself
    cpu_ms: round(r.cpuMs),
    // 1-minute load average at the end: timings on a busy machine are inflated
    loadavg: round(r.loadavg, 2),
    torch_ms: t ? round(t.ms) : null,
    torch_threads: t?.threads ?? null,
    torch_ms_by_threads: t?.byThreads ?? null,
    torch_version: torch.ref?.version ?? null,
    ratio: t ? round(r.ms / t.ms, 2) : null,
    // wall time of the first worker count's step over this one's (> 1: the split pays)
    ...(split.oneWorkerMs !== undefined ? { speedup: round(split.oneWorkerMs / r.ms, 2) } : {}),
    ...(torch.note ? { note: torch.note } : {}),
    losses: Object.fromEntries(Object.entries(r.losses).map(([k, v]) => [k, round(v, 4)])),
  };
  process.stdout.write(JSON.stringify(line) + '\n');
}

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const opt = (n: string) => {
    const i = args.indexOf(n);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const backend = await initBackend();
  const variants = opt('--variant') ? (opt('--variant')!.split(',') as Variant[]) : VARIANTS;
  const bad = variants.find((v) => !VARIANTS.includes(v));
  if (bad) throw new Error(`unknown variant ${bad} (expected ${VARIANTS.join(', ')})`);
  const batches = opt('--batch') ? opt('--batch')!.split(',').map(Number) : quick ? [32] : [128, 32];
  if (batches.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--batch: expected sizes ≥ 1 such as 32 or 32,128`);
  const workerCounts = (opt('--workers') ?? '1').split(',').map(Number);
  if (workerCounts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--workers: expected counts ≥ 1 such as 1,2`);
  const dimsName = (opt('--dims') ?? 'paper') as DimsPreset;
  if (!DIMS[dimsName]) throw new Error(`--dims: expected one of ${Object.keys(DIMS).join(', ')}`);
  const dims = { ...PAPER_DIMS, ...DIMS[dimsName] };
  // the product trains on its collection's vocabulary, far smaller than the paper's 5000 words
  if (opt('--vocab')) dims.V = Number(opt('--vocab'));
  if (!(Number.isInteger(dims.V) && dims.V > FIRST_WORD)) throw new Error(`--vocab: expected a whole number > ${FIRST_WORD}`);
  for (const batch of batches) {
    const torch = referenceFor(variants, batch, quick, args.includes('--no-torch'), dims);
    if (torch.note) process.stderr.write(`train-step: ${torch.note}\n`);
    for (const variant of variants) {
      const slow = variant !== 'cnn';
      const steps = opt('--steps') ? Number(opt('--steps')) : quick ? (slow ? 1 : 5) : slow ? 3 : 20;
      let first: number | undefined;
      for (const workers of workerCounts) {
        const r = await benchTrainStep({ variant, batch, warmup: 1, steps, workers, dims });
        printLine(variant, batch, backend.name, r, torch, { workers, dims: dimsName, vocab: dims.V, oneWorkerMs: first });
        first ??= r.ms;
      }
    }
  }
  if (batches.includes(128) && variants.includes('cam')) {
    const m = await peakMemoryOfStep({ variant: 'cam', batch: 128 });
    const line = { bench: 'train_step_memory', variant: 'cam', batch: 128, backend: backend.name, ...m };
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  if (!args.includes('--no-flat')) {
    const f = flatnessCheck({ variant: 'cam', batch: 48, dims: FLAT_DIMS, HW: 4, T: 10, from: 5, to: 100 });
    const line = {
      bench: 'train_step_flat',
      variant: 'cam',
      batch: 48,
      backend: backend.name,
      steps: 100,
      ...f,
    };
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // One line, not a stack: on wasm an uncaught error would also print the minified module source.
  await main().catch((e: unknown) => {
    process.stderr.write(`bench train-step failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(1);
  });
}
