/**
 * Training recipes (`plumage train --recipe fast|paper`) and the duration estimate printed before
 * a run starts.
 */
import { describe, expect, it } from 'vitest';
import { DIMS, RECIPES, withRecipe } from '../../src-main/jobs/train/config.ts';
import { estimateSeconds, stepFlops } from '../../src-main/jobs/train/estimate.ts';
import type { ModelDims } from '../../src-main/ml/model.ts';
import { configOf, resumeRequest, trainRequest } from '../../src-main/api/ops/train.ts';

const paper: ModelDims = { K: 1536, ...DIMS.paper, V: 5000, C: 200 };

describe('recipes', () => {
  it('fast is the demo / Retrain setting, paper the paper setting', () => {
    const fast = withRecipe('fast', { variant: 'cam' as const });
    expect(fast).toMatchObject({ dims: 'small', optimizer: 'adam', lr: 0.002, batch: 32, clip: 2 });
    const p = withRecipe('paper', { variant: 'cam' as const });
    expect(p).toMatchObject({ dims: 'paper', optimizer: 'sgd', lr: 0.1, batch: 128, clip: 0 });
  });

  it('explicit options win over the recipe, undefined ones do not erase it', () => {
    const c = withRecipe('fast', { variant: 'medi' as const, lr: 0.01, batch: undefined, epochs: 3 });
    expect(c).toMatchObject({ variant: 'medi', lr: 0.01, batch: 32, epochs: 3, optimizer: 'adam' });
    expect(RECIPES.fast.lr).toBe(0.002);
  });
});

describe('worker threads', () => {
  it('--workers is a request option, not part of the run config', () => {
    const req = trainRequest.parse({ variant: 'cam', workers: 2 });
    expect(req.workers).toBe(2);
    expect(configOf(req)).not.toHaveProperty('workers');
    expect(resumeRequest.parse({ runId: 'r1', workers: 3 }).workers).toBe(3);
    expect(trainRequest.safeParse({ variant: 'cam', workers: 0 }).success).toBe(false);
    expect(trainRequest.safeParse({ variant: 'cam', workers: 1.5 }).success).toBe(false);
  });
});

describe('duration estimate', () => {
  it('counts the cam step as ~11 captioner forwards against 3 for medi', () => {
    const cam = stepFlops('cam', paper, 32, 20);
    const medi = stepFlops('medi', paper, 32, 20);
    expect(cam / medi).toBeGreaterThan(3.4);
    expect(cam / medi).toBeLessThan(3.7);
    // the paper-size medi step is ~40 GFLOP at B=32 (docs/model.md)
    expect(medi / 1e9).toBeGreaterThan(35);
    expect(medi / 1e9).toBeLessThan(45);
  });

  it('scales with steps and batch, is much shorter for the fast recipe, and is null on an unknown backend', () => {
    const d = { batch: 32, T: 20, steps: 100 };
    const one = estimateSeconds('wasm', 'cam', paper, d)!;
    expect(estimateSeconds('wasm', 'cam', paper, { ...d, steps: 200 })).toBeCloseTo(2 * one, 6);
    // the multiply-adds grow with the batch, the per-op cost does not: linear with an offset
    const at = (batch: number) => estimateSeconds('wasm', 'cam', paper, { ...d, batch })!;
    expect(at(64) - at(32)).toBeCloseTo(2 * (at(32) - at(16)), 3);
    expect(at(64)).toBeLessThan(2 * one);
    const small: ModelDims = { ...paper, ...DIMS.small };
    expect(estimateSeconds('wasm', 'cam', small, d)!).toBeLessThan(one / 5);
    expect(estimateSeconds('node', 'cam', paper, d)!).toBeLessThan(one);
    expect(estimateSeconds('quantum', 'cam', paper, d)).toBeNull();
  });

  it('counts each op dispatch, which small models mostly spend: the fast recipe on 5 CUB classes is minutes, not seconds', () => {
    // the default cam run measured on the 5 real CUB classes: 105 steps, small widths, a few hundred words
    const cub: ModelDims = { ...paper, ...DIMS.small, K: 1280, V: 400, C: 5 };
    const d = { batch: 32, T: 20, steps: 105 };
    const multiplyAdds = (105 * stepFlops('cam', cub, 32, 20)) / 11e9;
    const est = estimateSeconds('wasm', 'cam', cub, d)!;
    expect(est).toBeGreaterThan(3 * multiplyAdds);
    expect(est).toBeGreaterThan(60);
    expect(est).toBeLessThan(245); // the measured wall time on loaded cores, validation and scoring included
    expect(estimateSeconds('wasm', 'cnn', cub, d)!).toBeLessThan(1);
  });
});
