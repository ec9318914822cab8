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

export function lambdaAt(s: LambdaSchedule, globalStep: number, stepsPerEpoch: number): number {
  const epoch = globalStep / Math.max(1, stepsPerEpoch);
  if (epoch < s.lambdaWarmup) return 0;
  if (s.lambdaRamp <= 0) return s.lambda;
  return s.lambda * Math.min(1, (epoch - s.lambdaWarmup) / s.lambdaRamp);
}
