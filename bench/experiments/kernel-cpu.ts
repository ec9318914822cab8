/**
 * CPU time of one training step split by kernel (native backend: a libtensorflow op runs
 * synchronously, so process CPU time around the kernel call is the kernel's, both threads of
 * libtensorflow's pool included), grouped by kernel name and size class (≥ 100 000 output
 * elements: "large"); what is left of the step's CPU time is JavaScript (TF.js's engine, the tape,
 * the binding). Steadier than wall times on a shared machine. `main_thread_share`: the part of a
 * kernel class's CPU time spent on the JavaScript thread itself (≈ 1: the kernel ran inline,
 * single-threaded; lower: on libtensorflow's intra-op pool). Not part of `npm run bench`:
 *   PLUMAGE_BACKEND=node node --import tsx bench/experiments/kernel-cpu.ts [--variant cam]
 *     [--batch 32] [--dims paper] [--steps 3] [--top 25]
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { initBackend } from '../../src-main/ml/backend.ts';
import { option, randomStep } from './random-step.ts';

interface Row {
  calls: number;
  cpu: number;
  wall: number;
  /** of cpu: the JavaScript thread's own (a kernel run inline, not on libtensorflow's pool) */
  main: number;
}

/** On-CPU ns of the process's main (JavaScript) thread, from the kernel's scheduler statistics. */
const mainThreadNs = (): number => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
const LARGE = 100_000;

async function main() {
  const args = process.argv.slice(2);
  const backend = await initBackend();
  const { variant, B, dimsName, step, dispose } = randomStep(args, 'paper');
  step(); // registers the Plumage kernels
  const table = new Map<string, Row>();
  let recording = false;
  const name = tf.getBackend();
  for (const cfg of tf.getKernelsForBackend(name)) {
    const base = cfg.kernelFunc;
    tf.unregisterKernel(cfg.kernelName, name);
    tf.registerKernel({
      ...cfg,
      kernelFunc: (a) => {
        if (!recording) return base(a);
        const m0 = mainThreadNs();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const out = base(a);
        const wall = performance.now() - t0;
        const c = process.cpuUsage(c0);
        const main = (mainThreadNs() - m0) / 1e6;
        const outs = (Array.isArray(out) ? out : [out]) as tf.TensorInfo[];
        const size = outs.reduce((s, o) => s + o.shape.reduce((x, y) => x * y, 1), 0);
        const key = size >= LARGE ? `${cfg.kernelName} (large)` : cfg.kernelName;
        const r = table.get(key) ?? { calls: 0, cpu: 0, wall: 0, main: 0 };
        r.calls++;
        r.main += main;
        r.cpu += (c.user + c.system) / 1000;
        r.wall += wall;
        table.set(key, r);
        return out;
      },
    });
  }
  const n = Number(option(args, '--steps', '3'));
  recording = true;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  const wall = (performance.now() - t0) / n;
  const cu = process.cpuUsage(c0);
  recording = false;
  dispose();
  const rows = [...table.entries()].sort((x, y) => y[1].cpu - x[1].cpu);
  const sum = (f: (r: Row) => number) => rows.reduce((a, [, r]) => a + f(r), 0) / n;
  const stepCpu = (cu.user + cu.system) / 1000 / n;
  const top = Number(option(args, '--top', '25'));
  process.stdout.write(
    JSON.stringify({
      bench: 'kernel_cpu',
      backend: backend.name,
      variant,
      batch: B,
      dims: dimsName,
      steps: n,
      step_wall_ms: Math.round(wall),
      step_cpu_ms: Math.round(stepCpu),
      kernels: Math.round(sum((r) => r.calls)),
      kernel_cpu_ms: Math.round(sum((r) => r.cpu)),
      kernel_wall_ms: Math.round(sum((r) => r.wall)),
      rest_cpu_ms: Math.round(stepCpu - sum((r) => r.cpu)),
      rows: rows.slice(0, top).map(([k, r]) => ({
        kernel: k,
        calls: Math.round(r.calls / n),
        cpu_ms: Math.round(r.cpu / n),
        wall_ms: Math.round(r.wall / n),
        main_thread_share: Number((r.main / r.cpu).toFixed(2)),
      })),
    }) + '\n',
  );
}

await main();
