/** The λ schedule of L_cam: 0 during the warm-up, a linear rise over the ramp, then λ. */
import { describe, expect, it } from 'vitest';
import { lambdaAt } from '../../src-main/jobs/train/lambda-schedule.ts';

describe('λ schedule', () => {
  it('is λ from the first step without warm-up or ramp (the paper, and runs recorded before the schedule)', () => {
    expect(lambdaAt({ lambda: 0.7, lambdaWarmup: 0, lambdaRamp: 0 }, 0, 10)).toBe(0.7);
    expect(lambdaAt({ lambda: 0.7 }, 0, 10)).toBe(0.7);
  });

  it('is 0 during the warm-up, rises linearly over the ramp and stays at λ', () => {
    const s = { lambda: 1, lambdaWarmup: 2, lambdaRamp: 4 };
    // 10 steps per epoch
    expect(lambdaAt(s, 0, 10)).toBe(0);
    expect(lambdaAt(s, 19, 10)).toBe(0);
    expect(lambdaAt(s, 20, 10)).toBe(0);
    expect(lambdaAt(s, 30, 10)).toBeCloseTo(0.25, 12);
    expect(lambdaAt(s, 50, 10)).toBeCloseTo(0.75, 12);
    expect(lambdaAt(s, 60, 10)).toBe(1);
    expect(lambdaAt(s, 600, 10)).toBe(1);
  });
});
