/**
 * ms per Algorithm-1 training step (forward, backward incl. the second-order L_cam gradient for
 * `cam`, SGD update) at the paper's sizes, per variant, with the ratio to the PyTorch reference
 * (../shared/ref/torch_timing.txt, median ms at the same variant and batch). One JSON line each:
 *   {"bench":"train_step","variant":"cam","batch":32,"backend":"wasm","ms":…,"torch_ms":…,"ratio":…}
 * `cpu_ms` is this process's CPU time per step (TF.js wasm runs one thread), a fairer figure when
 * other processes compete for the two cores (`loadavg`).
 * `--quick`: B=32 only and fewer steps. `--variant cam` / `--batch 32` restrict the configs.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src-main/ml/backend.ts';
import { algorithm1Grads } from '../src-main/ml/algorithm1.ts';
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

export const PAPER_DIMS: ModelDims = { K: 1536, D: 1024, E: 512, Hd: 1024, V: 5000, C: 200 };
const TORCH_VARIANT: Record<Variant, number> = { cnn: 1, lrcn: 2, medi: 3, cam: 4 };

export interface TrainStepBench {
  variant: Variant;
  batch: number;
  steps?: number;
  warmup?: number;
  dims?: ModelDims;
  HW?: number;
  T?: number;
}

/** Median ms of `steps` timed training steps after `warmup` untimed ones. */
export async function benchTrainStep(
  o: TrainStepBench,
): Promise<{
  ms: number;
  min: number;
  max: number;
  cpuMs: number;
  otherLoad: number;
  losses: Record<string, number>;
}> {
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
  const state = createOptimState();
  const times: number[] = [];
  const cpus: number[] = [];
  let losses: Record<string, number> = {};
  for (let s = 0; s < (o.warmup ?? 1) + (o.steps ?? 3); s++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const res = algorithm1Grads(P, o.variant, { A, labels, captions }, { lambda: 1 });
    applyGrads(P, res.grads, { kind: 'sgd', lr: 0.1 }, state);
    Object.values(res.grads).forEach((g) => g.dispose());
    res.classPred?.dispose();
    res.predCaptions?.dispose();
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (s >= (o.warmup ?? 1)) {
      times.push(dt);
      cpus.push((c.user + c.system) / 1000);
    }
    losses = { ...res.losses };
  }
  A.dispose();
  labels.dispose();
  captions.dispose();
  Object.values(P).forEach((p) => p.dispose());
  const med = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
  const load = loadavg()[0];
  times.sort((a, b) => a - b);
  return {
    ms: med(times),
    min: times[0],
    max: times[times.length - 1],
    cpuMs: med(cpus),
    otherLoad: load,
    losses,
  };
}

/** Median over the reference runs of the median ms per (torch variant, batch). */
export function torchTimings(
  path = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/ref/torch_timing.txt'),
) {
  const out = new Map<string, number>();
  if (!existsSync(path)) return out;
  const seen = new Map<string, number[]>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    // the Notes section quotes a superseded draft's output: not reference timings
    if (line.startsWith('== Notes')) break;
    const m = /^\s*([1-4])\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+L_/.exec(line);
    if (!m) continue;
    const k = `${m[1]}/${m[2]}`;
    seen.set(k, [...(seen.get(k) ?? []), Number(m[3])]);
  }
  for (const [k, v] of seen) {
    v.sort((a, b) => a - b);
    out.set(k, v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2);
  }
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const opt = (n: string) => {
    const i = args.indexOf(n);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const backend = await initBackend();
  const torch = torchTimings();
  const variants = opt('--variant') ? [opt('--variant') as Variant] : VARIANTS;
  const batches = opt('--batch') ? [Number(opt('--batch'))] : quick ? [32] : [128, 32];
  for (const batch of batches)
    for (const variant of variants) {
      const slow = variant !== 'cnn';
      const r = await benchTrainStep({
        variant,
        batch,
        warmup: 1,
        steps: quick ? (slow ? 1 : 5) : slow ? 3 : 20,
      });
      const t = torch.get(`${TORCH_VARIANT[variant]}/${batch}`);
      const torch_ms = t === undefined ? null : Number(t.toFixed(1));
      process.stdout.write(
        JSON.stringify({
          bench: 'train_step',
          variant,
          batch,
          backend: backend.name,
          ms: Number(r.ms.toFixed(1)),
          min_ms: Number(r.min.toFixed(1)),
          // CPU time of this (single-threaded wasm) process: what the step costs when it has a core
          cpu_ms: Number(r.cpuMs.toFixed(1)),
          // 1-minute load average at the end: timings on a busy machine are inflated
          loadavg: Number(r.otherLoad.toFixed(2)),
          torch_ms,
          ratio: torch_ms ? Number((r.ms / torch_ms).toFixed(2)) : null,
          losses: Object.fromEntries(Object.entries(r.losses).map(([k, v]) => [k, Number(v.toFixed(4))])),
        }) + '\n',
      );
    }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
