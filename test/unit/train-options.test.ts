/**
 * Training options: the λ schedule of L_cam (0 during the warm-up, a linear rise over the ramp,
 * then λ) and model selection by validation caption loss or CIDEr-D.
 */
import { describe, expect, it } from 'vitest';
import { lambdaAt } from '../../src-main/jobs/train/lambda-schedule.ts';
import { selectionScore } from '../../src-main/jobs/train/validation.ts';

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

describe('model selection score', () => {
  const V = Math.E ** 2; // ln V = 2
  it('by loss: top-1 − caption loss / ln V, whatever CIDEr says', () => {
    expect(selectionScore({ top1: 0.8, top5: 1, captionLoss: 1, cider: 0.3 }, V)).toBeCloseTo(0.3, 12);
    expect(selectionScore({ top1: 0.8, top5: 1, captionLoss: 1, cider: 0.3 }, V, 'loss')).toBeCloseTo(0.3, 12);
  });

  it('by CIDEr: top-1 + CIDEr-D, and prefers the epoch with better captions even at a lower loss', () => {
    const fluent = { top1: 0.8, top5: 1, captionLoss: 1.2, cider: 0.3 };
    const looping = { top1: 0.8, top5: 1, captionLoss: 1.0, cider: 0.05 };
    expect(selectionScore(fluent, V, 'cider')).toBeCloseTo(1.1, 12);
    expect(selectionScore(fluent, V, 'cider')).toBeGreaterThan(selectionScore(looping, V, 'cider'));
    expect(selectionScore(fluent, V, 'loss')).toBeLessThan(selectionScore(looping, V, 'loss'));
    // lrcn has no top-1; without a CIDEr value it falls back to the loss
    expect(selectionScore({ top1: null, top5: null, captionLoss: 2, cider: 0.2 }, V, 'cider')).toBeCloseTo(0.2, 12);
    expect(selectionScore({ top1: null, top5: null, captionLoss: 2 }, V, 'cider')).toBeCloseTo(-1, 12);
  });
});
