/**
 * Where a data-parallel training step's time goes (jobs/train/grad-workers.ts), against the same
 * step on this thread alone at the whole batch and at one worker's part of it, interleaved:
 *   PLUMAGE_BACKEND=wasm node --import tsx bench/experiments/worker-phases.ts [--variant cam]
 *     [--batch 32] [--dims paper] [--workers 2] [--rounds 2]
 * Per round, one JSON line per configuration: wall and process CPU ms of the step (gradients, then
 * the SGD update, as bench/train-step.ts), and for the split step the calling thread's phases
 * (publish, send, wait, sum, apply) and each worker's (params, batch, compute, pack: wall ms; cpu:
 * that thread's CPU ms from /proc/thread-self). One warm-up step per configuration first.
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { initBackend } from '../../src-main/ml/backend.ts';
import { algorithm1Grads, type StepResult } from '../../src-main/ml/algorithm1.ts';
import { applyGrads, createOptimState } from '../../src-main/ml/optim.ts';
import { GradientWorkers } from '../../src-main/jobs/train/grad-workers.ts';
import { DIMS, type DimsPreset } from '../../src-main/jobs/train/config.ts';
import type { Variant } from '../../src-main/ml/model.ts';
import { PAPER_DIMS, randomBatch } from '../train-step.ts';
import { option } from './random-step.ts';

const args = process.argv.slice(2);
const backend = await initBackend();
const variant = option(args, '--variant', 'cam') as Variant;
const B = Number(option(args, '--batch', '32'));
const nw = Number(option(args, '--workers', '2'));
const rounds = Number(option(args, '--rounds', '2'));
const dimsName = option(args, '--dims', 'paper') as DimsPreset;
const dims = dimsName === 'paper' ? { ...PAPER_DIMS } : { ...PAPER_DIMS, ...DIMS[dimsName] };
const part = Math.ceil(B / nw);

const whole = randomBatch({ variant, batch: B, dims });
const half = randomBatch({ variant, batch: part, dims });
const state = createOptimState();
let applyMs = 0;
const update = (P: typeof whole.P, res: StepResult) => {
  const t = performance.now();
  applyGrads(P, res.grads, { kind: 'sgd', lr: 0.1 }, state);
  applyMs = performance.now() - t;
  tf.dispose([...Object.values(res.grads), res.classPred, res.predCaptions].filter((x): x is tf.Tensor => !!x));
};
const pool = await GradientWorkers.start(whole.P, nw, backend.name);

const configs: Record<string, () => Promise<void>> = {
  [`thread_B${B}`]: async () => update(whole.P, algorithm1Grads(whole.P, variant, whole.batch, { lambda: 1 })),
  [`thread_B${part}`]: async () => update(half.P, algorithm1Grads(half.P, variant, half.batch, { lambda: 1 })),
  [`workers${nw}_B${B}`]: async () => update(whole.P, await pool.grads(whole.P, variant, whole.batch, { lambda: 1 })),
};
const r1 = (x: number) => Math.round(x);
for (const run of Object.values(configs)) await run();
for (let round = 0; round < rounds; round++)
  for (const [name, run] of Object.entries(configs)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const ph = name.startsWith('workers') ? pool.lastPhases : null;
    process.stdout.write(
      JSON.stringify({
        bench: 'worker_phases',
        backend: backend.name,
        variant,
        round,
        config: name,
        ms: r1(wall),
        cpu_ms: r1((c.user + c.system) / 1000),
        apply_ms: r1(applyMs),
        ...(ph
          ? {
              main: { publish: r1(ph.publish), send: r1(ph.send), wait: r1(ph.wait), sum: r1(ph.sum) },
              workers: ph.workers.map((w) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, r1(v)]))),
            }
          : {}),
        loadavg: Number(loadavg()[0].toFixed(2)),
      }) + '\n',
    );
  }
await pool.close();
whole.dispose();
half.dispose();
