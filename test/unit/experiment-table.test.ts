/**
 * The experiment's summary: mean ± sample sd per variant, relative deltas against CNN (top-1,
 * top-5) and LRCN (caption metrics), ties within one sd, and the key=value training settings.
 */
import { describe, expect, it } from 'vitest';
import {
  EXPERIMENT_METRICS,
  delta,
  formatExperiment,
  formatPaired,
  pairedComparison,
  pairedStat,
  stat,
  summarise,
  type RunMetrics,
} from '../../src-main/jobs/experiment-table.ts';
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

describe('paired comparison of cam and medi seed by seed', () => {
  it('differences of the same seed, whatever order the runs come in', () => {
    // medi's seeds spread widely, cam is medi + 0.01 on every seed: unpaired a tie, paired clear
    const medi = [0.7, 0.9, 0.8, 0.75];
    const runs = [
      ...medi.map((x, i) => ({ variant: 'cam' as Variant, seed: 4 - i, metrics: metrics({ cider: medi[3 - i] + 0.01, top1: 0.5 }) })),
      ...medi.map((x, i) => ({ variant: 'medi' as Variant, seed: i + 1, metrics: metrics({ cider: x, top1: 0.5 + (i % 2 ? 0.01 : -0.01) }) })),
      { variant: 'cam' as Variant, seed: 9, metrics: metrics({ cider: 0 }) }, // no medi of seed 9: left out
    ];
    const p = pairedComparison(runs, 'cam', 'medi')!;
    expect(p.seeds).toEqual([1, 2, 3, 4]);
    expect(p.stats.cider!.mean).toBeCloseTo(0.01, 12);
    expect(p.stats.cider!.sd).toBeCloseTo(0, 12);
    expect(p.stats.cider).toMatchObject({ higher: 4, lower: 0, clear: true });
    expect(p.stats.top1).toMatchObject({ higher: 2, lower: 2, clear: false });
    expect(p.stats.bleu4).toBeUndefined();
    const unpaired = summarise(runs.filter((r) => r.seed < 9), ['medi', 'cam']);
    expect(delta(unpaired[1].stats.cider!, unpaired[0].stats.cider!).tie).toBe(true);
    const lines = formatPaired(p);
    expect(lines).toContain('| CIDEr | +0.010 ± 0.000 | 4 / 0 | yes |');
    expect(lines).toContain('| Top-1 | +0.000 ± 0.012 | 2 / 2 | no |');
  });

  it('clear only beyond two standard errors and with at least three seeds', () => {
    expect(pairedStat([0.02, 0.03]).clear).toBe(false);
    expect(pairedStat([0.01, 0.02, 0.03]).clear).toBe(true); // mean 0.02, se 0.0058
    expect(pairedStat([-0.01, 0.02, 0.05]).clear).toBe(false); // mean 0.02, se 0.017
    expect(pairedStat([-0.02, -0.03, -0.025])).toMatchObject({ higher: 0, lower: 3, clear: true });
  });

  it('needs both variants on at least two seeds', () => {
    const one = [
      { variant: 'cam' as Variant, seed: 1, metrics: metrics({ cider: 0.2 }) },
      { variant: 'medi' as Variant, seed: 1, metrics: metrics({ cider: 0.1 }) },
    ];
    expect(pairedComparison(one, 'cam', 'medi')).toBeNull();
    expect(pairedComparison([...one, { ...one[0], seed: 2 }], 'cam', 'medi')).toBeNull();
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
