/**
 * User vs system CPU time and page faults of a training step (process.resourceUsage), per step:
 *   PLUMAGE_BACKEND=node node --import tsx bench/experiments/step-rusage.ts --dims paper --batch 32 --steps 4
 * Run it under different environments (e.g. glibc malloc settings) in alternating processes.
 * `main_thread_ms`: the JavaScript thread's own CPU time (JavaScript, and the kernels libtensorflow
 * runs inline rather than on its intra-op pool): on a quiet 2-core machine a step's wall time is
 * about this plus half the pool's matMul CPU time.
 */
import { readFileSync } from 'node:fs';
import { initBackend } from '../../src-main/ml/backend.ts';
import { option, randomStep } from './random-step.ts';
import { useFusedActivationGrads } from '../../src-main/ml/ops.ts';

await initBackend();
/** On-CPU ms of the main (JavaScript) thread: JavaScript and every kernel run inline, without libtensorflow's pool. */
const mainMs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
const args = process.argv.slice(2);
const { variant, B, step, dispose } = randomStep(args, 'paper');
// `--act off`: σ's and tanh's gradients from mul/sub instead of libtensorflow's fused ops
if (args.includes('--act')) useFusedActivationGrads(option(args, '--act', 'on') === 'on');
step();
const n = Number(option(args, '--steps', '3'));
for (let i = 0; i < n; i++) {
  const m0 = mainMs();
  const r0 = process.resourceUsage();
  const t0 = performance.now();
  step();
  const wall = performance.now() - t0;
  const r = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({
      bench: 'step_rusage',
      variant,
      batch: B,
      env: process.env.STEP_TAG ?? '',
      act: option(args, '--act', 'default'),
      wall_ms: Math.round(wall),
      user_ms: Math.round((r.userCPUTime - r0.userCPUTime) / 1000),
      sys_ms: Math.round((r.systemCPUTime - r0.systemCPUTime) / 1000),
      main_thread_ms: Math.round(mainMs() - m0),
      minor_faults: r.minorPageFault - r0.minorPageFault,
      max_rss_mb: Math.round(r.maxRSS / 1024),
    }) + '\n',
  );
}
dispose();
