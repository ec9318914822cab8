/**
 * The experiment's summary: mean ± sample sd per variant, relative deltas against CNN (top-1,
 * top-5) and LRCN (caption metrics), ties within one sd, and the key=value training settings.
 */
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_METRICS, delta, formatExperiment, stat, summarise, type RunMetrics } from '../../src-main/jobs/experiment-table.ts';
import { parseOverrides } from '../../src-main/jobs/experiment.ts';
import type { Variant } from '../../src-main/ml/model.ts';

const metrics = (m: Partial<RunMetrics>): RunMetrics =>
  ({ ...Object.fromEntries(EXPERIMENT_METRICS.map((k) => [k, null])), ...m }) as RunMetrics;

describe('experiment statistics', () => {
  it('mean and sample sd', () => {
    const s = stat([1, 2, 3, 6]);
    expect(s.mean).toBe(3);
    expect(s.sd).toBeCloseTo(Math.sqrt(14 / 3), 12);
    expect(stat([0.5])).toEqual({ mean: 0.5, sd: 0, n: 1 });
  });

  it('a difference within one sd is a tie, outside it a relative change', () => {
    const w = delta({ mean: 0.3, sd: 0.01, n: 3 }, { mean: 0.2, sd: 0.02, n: 3 });
    expect(w.tie).toBe(false);
    expect(w.relative).toBeCloseTo(0.5, 12);
    const t = delta({ mean: 0.21, sd: 0.005, n: 3 }, { mean: 0.2, sd: 0.02, n: 3 });
    expect(t.tie).toBe(true);
    expect(t.relative).toBeCloseTo(0.05, 12);
    expect(delta({ mean: 0.1, sd: 0, n: 1 }, { mean: 0, sd: 0, n: 1 }).relative).toBeNull();
  });

  it('summarises per variant against CNN for classification and LRCN for captions', () => {
    const runs: { variant: Variant; metrics: RunMetrics }[] = [
      { variant: 'cnn', metrics: metrics({ top1: 0.8 }) },
      { variant: 'cnn', metrics: metrics({ top1: 0.82 }) },
      { variant: 'lrcn', metrics: metrics({ cider: 0.1 }) },
      { variant: 'lrcn', metrics: metrics({ cider: 0.12 }) },
      { variant: 'cam', metrics: metrics({ top1: 0.9, cider: 0.2, empty_cls_cam: 0.1 }) },
      { variant: 'cam', metrics: metrics({ top1: 0.9, cider: 0.22, empty_cls_cam: 0 }) },
    ];
    const s = summarise(runs, ['cnn', 'lrcn', 'cam']);
    expect(s.map((r) => r.variant)).toEqual(['cnn', 'lrcn', 'cam']);
    expect(s[0].stats.cider).toBeUndefined();
    expect(s[0].deltas).toEqual({});
    expect(s[2].deltas.top1!.relative).toBeCloseTo(0.9 / 0.81 - 1, 12);
    expect(s[2].deltas.cider!.relative).toBeCloseTo(0.21 / 0.11 - 1, 12);
    expect(s[2].deltas.cider!.tie).toBe(false);
    const lines = formatExperiment(s);
    expect(lines.some((l) => l.startsWith('| Ours (L_cam) | 0.900 ± 0.000 |'))).toBe(true);
    expect(lines.some((l) => l.includes('+90.9%'))).toBe(true);
    // the heat-map table lists only variants with a species heat map measured
    const heat = lines.slice(lines.findIndex((l) => l.startsWith('Heat maps')));
    expect(heat[1]).toBe('| Model | CAM agr. | Empty species maps |');
    expect(heat.slice(3)).toEqual(['| Ours (L_cam) | — | 0.050 ± 0.071 |']);
  });
});

describe('training settings given as key=value', () => {
  it('are typed after the defaults', () => {
    expect(parseOverrides(['lambda=0.3', 'dims=tiny', 'partMasks=true'])).toEqual({ lambda: 0.3, dims: 'tiny', partMasks: true });
  });

  it('refuse unknown keys, missing values and non-numbers', () => {
    expect(() => parseOverrides(['lamda=1'])).toThrow(/'lamda' is not a training setting/);
    expect(() => parseOverrides(['lambda'])).toThrow(/key=value/);
    expect(() => parseOverrides(['lambda=abc'])).toThrow(/needs a number/);
    expect(() => parseOverrides(['partMasks=yes'])).toThrow(/true or false/);
  });
});

describe('experiment recipes', () => {
  it('standard (the default, also called fast and practical) trains what plumage train does without options, cam included', async () => {
    const { RECIPES, EXPERIMENT_RECIPE_CHOICES } = await import('../../src-main/jobs/experiment.ts');
    const { configOf, trainRequest } = await import('../../src-main/api/ops/train.ts');
    const { CAM_FINE_TUNE, DEFAULT_CONFIG, DEFAULT_RECIPE, camFineTune } = await import('../../src-main/jobs/train/config.ts');
    const asTrained = (r: object) => ({ ...DEFAULT_CONFIG, ...r });
    expect(DEFAULT_RECIPE).toBe('standard');
    expect(asTrained({ ...RECIPES.standard.train, variant: 'medi' })).toEqual(asTrained(configOf(trainRequest.parse({ variant: 'medi' }))));
    // plumage train --variant cam: medi, then this fine-tune of it; the experiment's cam is the same
    expect(RECIPES.standard.camFineTune).toEqual(camFineTune(DEFAULT_RECIPE, {}));
    expect(RECIPES.standard.camFineTune).toEqual(CAM_FINE_TUNE.standard);
    expect(RECIPES.paper.camFineTune).toBeNull();
    expect(EXPERIMENT_RECIPE_CHOICES).toEqual(expect.arrayContaining(['standard', 'legacy', 'paper', 'fast', 'practical']));
    // legacy: the one-caption default that standard replaced, cam fine-tuned with the same settings
    expect(RECIPES.legacy.train).not.toHaveProperty('allCaptions');
    expect(RECIPES.legacy.camFineTune).toEqual({});
  });
});
