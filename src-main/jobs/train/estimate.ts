/**
 * A rough duration estimate for a training run, printed before it starts: the multiply-adds of
 * one Algorithm-1 step (counted from the model's sizes) over a backend's sustained matMul rate.
 * The rates are this project's measurements at the paper's sizes on 2 cores (docs/model.md,
 * "Speed"); smaller models run the matMuls less efficiently, so the estimate is a floor-ish
 * guide ("about"), and the live ETA during training replaces it.
 */
import type { ModelDims, Variant } from '../../ml/model.ts';
import { featWidth, hasCap, hasCls, hasMedi } from '../../ml/model.ts';

/** Sustained GFLOP/s of a training step (wasm: one thread; node: libtensorflow on 2 cores). */
const GFLOPS: Record<string, number> = { wasm: 11, node: 50, gpu: 50, cpu: 0.5 };

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
export function stepFlops(variant: Variant, d: ModelDims, B: number, T: number): number {
  const F = featWidth(variant, d);
  let fwd = 0;
  if (hasMedi(variant)) fwd += 2 * B * d.K * d.D;
  if (hasCls(variant)) fwd += 2 * B * F * d.C;
  const cap = hasCap(variant) ? captionForwardFlops(d, F, B, T) : 0;
  return 3 * fwd + (variant === 'cam' ? 11 : 3) * cap;
}

/** Estimated seconds for `steps` training steps on this backend (null if the backend is unknown). */
export function estimateSeconds(
  backend: string,
  variant: Variant,
  d: ModelDims,
  o: { batch: number; T: number; steps: number },
): number | null {
  const rate = GFLOPS[backend];
  if (!rate) return null;
  return (o.steps * stepFlops(variant, d, o.batch, o.T)) / (rate * 1e9);
}
