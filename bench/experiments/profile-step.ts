/**
 * Where one Algorithm-1 training step spends its time (docs/model.md "Where a step's time goes"):
 * the kernels dispatched per step, grouped by kernel name (count, summed kernel ms), and the
 * step's wall time without profiling, so wall − Σ kernel ms is the per-op JavaScript/dispatch
 * overhead. Not part of `npm run bench`:
 *   node --import tsx bench/experiments/profile-step.ts [--variant cam] [--batch 32]
 *     [--dims small|paper|medium|tiny] [--vocab V] [--top 15] [--share on|off] [--steps 3] [--by-shape]
 * `--by-shape`: kernels grouped by name and output shape instead of name and size class.
 * `--ab-lean`: instead, TF.js's own add/sub/mul gradients against lean-grads.ts's, interleaved.
 * The backend is the process's (PLUMAGE_BACKEND).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/ml/backend.ts';
import { useLeanGradients } from '../../src-main/ml/lean-grads.ts';
import { option, randomStep } from './random-step.ts';
import { median } from '../lib/stats.ts';


interface KernelStat {
  count: number;
  ms: number;
}

/** tf.profile also lists customGrad scopes, whose time is their kernels' time again. */
const SCOPES = new Set(['forward', 'backward', 'unnamed scope']);
/** Outputs of at least this many elements are listed apart (e.g. [B·T, V] against [B, 4Hd]). */
const LARGE = 100_000;

/** Kernel count and summed kernel time per kernel name of one profiled call of `f`. */
async function kernelTable(f: () => void, byShape = false): Promise<Map<string, KernelStat>> {
  const info = await tf.profile(f);
  const table = new Map<string, KernelStat>();
  for (const k of info.kernels) {
    if (SCOPES.has(k.name)) continue;
    const size = k.outputShapes.reduce((a, sh) => a + (sh ?? []).reduce((x, y) => x * y, 1), 0);
    const key = byShape
      ? `${k.name} ${JSON.stringify(k.outputShapes)}`
      : size >= LARGE
        ? `${k.name} (large)`
        : k.name;
    const s = table.get(key) ?? { count: 0, ms: 0 };
    s.count++;
    s.ms += Number(k.kernelTimeMs) || 0;
    table.set(key, s);
  }
  return table;
}

/** Median wall and CPU ms (every thread of the process) of `n` calls of `step`. */
function timed(step: () => void, n: number) {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    step();
    const c = process.cpuUsage(c0);
    walls.push(performance.now() - t0);
    cpus.push((c.user + c.system) / 1000);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

/** In-process interleaved A/B: TF.js's own add/sub/mul/identity gradients vs the lean ones. */
async function leanAB(step: () => void, reps: number) {
  const runs: Record<string, { wall: number[]; cpu: number[]; kernels: number }> = {};
  for (let i = 0; i < reps; i++)
    for (const on of [false, true]) {
      useLeanGradients(on);
      const key = on ? 'lean' : 'tfjs';
      const r = timed(step, 1);
      runs[key] ??= { wall: [], cpu: [], kernels: 0 };
      runs[key].wall.push(r.wall);
      runs[key].cpu.push(r.cpu);
    }
  for (const on of [false, true]) {
    useLeanGradients(on);
    const table = await kernelTable(step);
    runs[on ? 'lean' : 'tfjs'].kernels = [...table.values()].reduce((a, k) => a + k.count, 0);
  }
  const out = Object.fromEntries(
    Object.entries(runs).map(([k, r]) => [
      k,
      { wall_ms: Math.round(median(r.wall)), cpu_ms: Math.round(median(r.cpu)), kernels: r.kernels },
    ]),
  );
  process.stdout.write(JSON.stringify({ bench: 'lean_gradients_ab', reps, ...out }) + '\n');
}

async function main() {
  const args = process.argv.slice(2);
  const backend = await initBackend();
  const { variant, B, dimsName, dims, share, step, dispose } = randomStep(args, 'small');
  step();
  if (args.includes('--ab-lean')) {
    await leanAB(step, Number(option(args, '--steps', '5')));
    dispose();
    return;
  }
  const { wall, cpu } = timed(step, Number(option(args, '--steps', '3')));
  const table = await kernelTable(step, args.includes('--by-shape'));
  dispose();
  const rows = [...table.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const kernels = rows.reduce((a, [, s]) => a + s.count, 0);
  const kernelMs = rows.reduce((a, [, s]) => a + s.ms, 0);
  const top = Number(option(args, '--top', '15'));
  const line = {
    bench: 'profile_step',
    backend: backend.name,
    variant,
    batch: B,
    dims: dimsName,
    V: dims.V,
    share,
    wall_ms: Math.round(wall),
    // CPU time of the process (every thread): steadier than wall time when the machine is shared
    cpu_ms: Math.round(cpu),
    kernels,
    kernel_ms: Math.round(kernelMs),
    // what the kernels do not account for: JavaScript, the tape, dispatch of each op
    overhead_ms: Math.round(wall - kernelMs),
    top: rows.slice(0, top).map(([name, s]) => ({ name, count: s.count, ms: Math.round(s.ms) })),
  };
  process.stdout.write(JSON.stringify(line) + '\n');
}

await main();
