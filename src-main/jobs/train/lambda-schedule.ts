/**
 * When L_cam starts and how strongly: λ is 0 for the first `lambdaWarmup` epochs (the heads'
 * Grad-CAMs are noise at first, and L_cam would push f_medi towards agreeing on noise), then
 * rises linearly to the full λ over `lambdaRamp` epochs. Both 0 (the default) = λ from the
 * first step, the paper's. Depends only on the global step, so a resumed run gets the same λ.
 */
export interface LambdaSchedule {
  lambda: number;
  /** Epochs with λ = 0. */
  lambdaWarmup: number;
  /** Epochs of the linear rise from 0 to λ after the warm-up. */
  lambdaRamp: number;
}

/** λ at a global step; runs recorded before the schedule existed have neither field (= none). */
export function lambdaAt(s: Partial<LambdaSchedule> & { lambda: number }, globalStep: number, stepsPerEpoch: number): number {
  const warmup = s.lambdaWarmup ?? 0;
  const ramp = s.lambdaRamp ?? 0;
  const epoch = globalStep / Math.max(1, stepsPerEpoch);
  if (epoch < warmup) return 0;
  if (ramp <= 0) return s.lambda;
  return s.lambda * Math.min(1, (epoch - warmup) / ramp);
}
