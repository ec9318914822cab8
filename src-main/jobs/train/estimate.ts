/**
 * A rough duration estimate for a training run, printed before it starts: the multiply-adds of
 * one Algorithm-1 step (counted from the model's sizes) over a backend's sustained matMul rate,
 * plus a fixed cost per captioner time step and pass (each op's dispatch), which is what small
 * models spend most of their time on. The rates are this project's measurements on 2 cores
 * (docs/model.md, "Speed"); the estimate is a guide ("about"), and the live ETA replaces it.
 */
import type { ModelDims, Variant } from '../../ml/model.ts';
import { featWidth, hasCap, hasCls, hasMedi } from '../../ml/model.ts';

/**
 * Sustained GFLOP/s of a training step (wasm: one thread; node: libtensorflow on 2 cores), fitted
 * to quiet sittings' paper-width steps at B=32 (docs/model.md): node cam 1.47 s and medi 0.45 s
 * ("The quiet sitting of the previous release"); wasm (one worker, our own GEMM with 4-row FMA
 * kernels) cam 5.9 s CPU ("Four-row microkernels"; 8.2 s with 6-row mul + add ones, 9.2 s on
 * XNNPACK alone). gpu: not measured.
 */
const GFLOPS: Record<string, number> = { wasm: 25, node: 120, gpu: 50, cpu: 0.5 };

/**
 * Seconds per captioner time step and pass beyond its multiply-adds, fitted to the default
 * `plumage train --variant cam` on the 5 CUB classes in the same sitting (small widths, 62 steps
 * per epoch, validation included): medi 0.089 s and cam's fine-tune 0.32 s per step on node,
 * 0.125 s and 0.47 s on wasm (31 s and 29 s of a 60 s run; before the 4-row kernels 0.22 s and
 * 0.73 s, fitted by 3 ms here, which then made the estimate 1.7× long).
 */
const PASS_STEP_S: Record<string, number> = { wasm: 1.75e-3, node: 1.5e-3, gpu: 3e-3, cpu: 4e-3 };

/** Captioner passes of a step, as counted in stepFlops (forward, backward, CAM terms). */
const captionerPasses = (variant: Variant) => (!hasCap(variant) ? 0 : variant === 'cam' ? 11 : 3);

/**
 * Captioner passes that training options add to a step: the loop unlikelihood decodes the batch
 * greedily (one forward) and scores those captions teacher-forced (forward and backward: three);
 * scheduled sampling guesses every input word in one more forward; self-critical training samples
 * and decodes the batch (two forwards) and scores the samples teacher-forced (three); with k
 * samples per photo and no greedy caption, k samplings and k teacher-forced passes (4k). The
 * token-level unlikelihood rides on L_caption's own pass. Self-critical training that starts
 * part-way (selfCriticalFrom) counts as its mean over the run's steps.
 */
export function optionPasses(o: {
  loopUnlikelihood?: number;
  scheduledSampling?: number;
  selfCritical?: number;
  selfCriticalSamples?: number;
  selfCriticalFrom?: number;
}): number {
  const k = o.selfCriticalSamples ?? 1;
  const selfCritical = !o.selfCritical ? 0 : (k > 1 ? 4 * k : 5) * (1 - (o.selfCriticalFrom ?? 0));
  return (o.loopUnlikelihood ? 4 : 0) + (o.scheduledSampling ? 1 : 0) + selfCritical;
}

/** FLOPs of one teacher-forced captioner forward pass over `rows` captions of length T. */
function captionForwardFlops(d: ModelDims, F: number, rows: number, T: number): number {
  const perToken = d.E * 4 * d.Hd + d.Hd * 4 * d.Hd + d.Hd * d.V;
  return 2 * rows * ((T - 1) * perToken + F * 4 * d.Hd);
}

/**
 * FLOPs of one training step. Backward ≈ 2× forward; the cam step adds the greedy decode (one
 * forward), the captioner alphas of the given and the greedy caption (forward and backward over
 * 2B rows) and the second-order pass through both (≈ 2× that again): ≈ 11 forwards in all.
 */
export function stepFlops(variant: Variant, d: ModelDims, B: number, T: number, extraPasses = 0): number {
  const F = featWidth(variant, d);
  let fwd = 0;
  if (hasMedi(variant)) fwd += 2 * B * d.K * d.D;
  if (hasCls(variant)) fwd += 2 * B * F * d.C;
  if (!hasCap(variant)) return 3 * fwd;
  return 3 * fwd + (captionerPasses(variant) + extraPasses) * captionForwardFlops(d, F, B, T);
}

/**
 * Estimated seconds for `steps` training steps on this backend (null if the backend is unknown);
 * `extraPasses`: what the run's options add (optionPasses).
 */
export function estimateSeconds(
  backend: string,
  variant: Variant,
  d: ModelDims,
  o: { batch: number; T: number; steps: number; extraPasses?: number },
): number | null {
  const rate = GFLOPS[backend];
  if (!rate) return null;
  const passes = hasCap(variant) ? captionerPasses(variant) + (o.extraPasses ?? 0) : 0;
  const overhead = passes * (o.T - 1) * PASS_STEP_S[backend];
  return o.steps * (stepFlops(variant, d, o.batch, o.T, o.extraPasses) / (rate * 1e9) + overhead);
}
