/**
 * Training recipes (`plumage train --recipe standard|paper`), the epoch budget's photo-pass
 * floor, cam's fine-tune of medi, and the duration estimate printed before a run starts.
 */
import { describe, expect, it } from 'vitest';
import { camFineTune, DEFAULT_RECIPE, DIMS, RECIPES, recipeNamed, withRecipe } from '../../src-main/jobs/train/config.ts';
import { epochBudget } from '../../src-main/jobs/train/sampling.ts';
import { estimateSeconds, optionPasses, stepFlops } from '../../src-main/jobs/train/estimate.ts';
import type { ModelDims } from '../../src-main/ml/model.ts';
import { configOf, resumeRequest, trainRequest } from '../../src-main/api/ops/train.ts';

const paper: ModelDims = { K: 1536, ...DIMS.paper, V: 5000, C: 200 };

describe('recipes', () => {
  it('standard is the default of plumage train (and its old names fast and practical), paper the paper setting', () => {
    const standard = withRecipe('standard', { variant: 'cam' as const });
    expect(standard).toMatchObject({ dims: 'small', optimizer: 'adam', lr: 0.002, batch: 32, clip: 2, allCaptions: true, epochs: 4, minPhotoPasses: 15, select: 'cider', classSmoothing: 0.1, captionSmoothing: 0.1, classDropout: 0.5, unlikelihood: 10, unlikelihoodOf: 'bigrams', loopUnlikelihood: 3 });
    expect(configOf(trainRequest.parse({ variant: 'cam' }))).toEqual(standard);
    for (const alias of ['fast', 'practical', 'standard']) expect(configOf(trainRequest.parse({ variant: 'cam', recipe: alias }))).toEqual(standard);
    expect(recipeNamed(undefined)).toBe(DEFAULT_RECIPE);
    expect(trainRequest.safeParse({ variant: 'cam', recipe: 'quick' }).success).toBe(false);
    const p = withRecipe('paper', { variant: 'cam' as const });
    expect(p).toMatchObject({ dims: 'paper', optimizer: 'sgd', lr: 0.1, batch: 128, clip: 0 });
    expect(p).not.toHaveProperty('allCaptions');
    expect(p).not.toHaveProperty('loopUnlikelihood');
    // an explicit 0 turns a recipe's option off
    expect(configOf(trainRequest.parse({ variant: 'cam', loopUnlikelihood: 0, unlikelihood: 0 }))).toMatchObject({ loopUnlikelihood: 0, unlikelihood: 0 });
  });

  it('explicit options win over the recipe, undefined ones do not erase it; explicit epochs drop the photo-pass floor', () => {
    const c = withRecipe('standard', { variant: 'medi' as const, lr: 0.01, batch: undefined, epochs: 3 });
    expect(c).toMatchObject({ variant: 'medi', lr: 0.01, batch: 32, epochs: 3, optimizer: 'adam', minPhotoPasses: 0 });
    expect(withRecipe('standard', { variant: 'medi' as const, epochs: 3, minPhotoPasses: 9 })).toMatchObject({ epochs: 3, minPhotoPasses: 9 });
    expect(withRecipe('standard', { variant: 'medi' as const, lr: 0.01 })).toMatchObject({ epochs: 4, minPhotoPasses: 15 });
    expect(RECIPES.standard.lr).toBe(0.002);
  });

  it('the epoch budget reaches the photo-pass floor where photos have few captions', () => {
    const photos = (n: number, captions: number) => Array.from({ length: n }, () => ({ captions: Array(captions).fill('a bird') }));
    const cfg = { epochs: 4, allCaptions: true, minPhotoPasses: 15 };
    expect(epochBudget(cfg, photos(10, 10))).toBe(4); // 40 photo passes already
    expect(epochBudget(cfg, photos(10, 1))).toBe(15);
    expect(epochBudget(cfg, photos(10, 2))).toBe(8); // ceil(15 / 2)
    // a photo without captions is still one item per epoch
    expect(epochBudget(cfg, [...photos(5, 3), ...photos(5, 0)])).toBe(8); // 10 photos, 20 items: ceil(150 / 20)
    expect(epochBudget({ ...cfg, allCaptions: false }, photos(10, 1))).toBe(4);
    expect(epochBudget({ ...cfg, minPhotoPasses: 0 }, photos(10, 1))).toBe(4);
    expect(epochBudget({ epochs: 4, allCaptions: true }, photos(10, 1))).toBe(4); // runs recorded before the floor existed
  });

  it("cam's fine-tune of medi: the recipe's settings, an explicit λ wins and an explicit rate is halved like the recipe's", () => {
    expect(camFineTune('standard', {})).toEqual({ lr: 0.001, epochs: 1, minPhotoPasses: 5, lambda: 0.03 });
    expect(camFineTune('standard', { lr: 0.004, lambda: 1 })).toMatchObject({ lr: 0.002, lambda: 1 });
    expect(camFineTune('paper', {})).toBeNull();
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

  it('scales with steps and batch, is much shorter at small widths, and is null on an unknown backend', () => {
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

  it("counts the captioner passes that training options add: the loop unlikelihood's decoding and teacher-forced pass, scheduled sampling's guesses, self-critical training's two decodings and teacher-forced pass", () => {
    expect(optionPasses({})).toBe(0);
    expect(optionPasses({ loopUnlikelihood: 0, scheduledSampling: 0 })).toBe(0);
    expect(optionPasses({ loopUnlikelihood: 3 })).toBe(4);
    expect(optionPasses({ loopUnlikelihood: 3, scheduledSampling: 0.1 })).toBe(5);
    expect(optionPasses({ selfCritical: 1 })).toBe(5);
    expect(optionPasses({ loopUnlikelihood: 3, selfCritical: 1 })).toBe(9);
    // k samples per photo: k samplings and k teacher-forced passes, no greedy decoding
    expect(optionPasses({ selfCritical: 1, selfCriticalSamples: 4 })).toBe(16);
    expect(optionPasses({ selfCritical: 0, selfCriticalSamples: 4 })).toBe(0);
    // started halfway: half the steps carry it
    expect(optionPasses({ loopUnlikelihood: 3, selfCritical: 1, selfCriticalSamples: 4, selfCriticalFrom: 0.5 })).toBe(12);
    const small: ModelDims = { ...paper, ...DIMS.small, K: 1280, V: 400, C: 5 };
    const d = { batch: 32, T: 20, steps: 100 };
    for (const variant of ['medi', 'cam'] as const) {
      const plain = estimateSeconds('node', variant, small, d)!;
      const withLoop = estimateSeconds('node', variant, small, { ...d, extraPasses: optionPasses(RECIPES.standard) })!;
      expect(withLoop).toBeGreaterThan(plain);
      expect(stepFlops(variant, small, 32, 20, 4)).toBeGreaterThan(stepFlops(variant, small, 32, 20));
    }
    // a classifier has no captioner to add passes to
    expect(estimateSeconds('node', 'cnn', small, { ...d, extraPasses: 4 })).toBe(estimateSeconds('node', 'cnn', small, d));
  });

  it('counts each op dispatch, which small models mostly spend: a small-width cam run on 5 CUB classes is minutes, not seconds', () => {
    // the one-caption default cam run measured on the 5 real CUB classes: 105 steps, small widths, a few hundred words
    const cub: ModelDims = { ...paper, ...DIMS.small, K: 1280, V: 400, C: 5 };
    const d = { batch: 32, T: 20, steps: 105 };
    const multiplyAdds = (105 * stepFlops('cam', cub, 32, 20)) / 25e9; // at wasm's sustained rate
    const est = estimateSeconds('wasm', 'cam', cub, d)!;
    expect(est).toBeGreaterThan(3 * multiplyAdds);
    expect(est).toBeGreaterThan(30); // 62 such steps took 29 s on wasm (docs/model.md)
    expect(est).toBeLessThan(245); // the measured wall time on loaded cores, validation and scoring included
    expect(estimateSeconds('wasm', 'cnn', cub, d)!).toBeLessThan(1);
  });
});
