/**
 * The numbers of an experiment (variants × seeds): per-variant mean ± sd of every metric, and the
 * relative change of each variant against the paper's baselines (classification metrics against
 * CNN, caption metrics against LRCN), with a difference inside one sd reported as a tie.
 * Pure functions: the experiment job fills the runs, the CLI prints the lines.
 */
import { HEADLINE_METRICS } from '../../shared/types.ts';
import type { Variant } from '../ml/model.ts';

/** Metrics of one run, in table order (null where the variant has no such output). */
export const EXPERIMENT_METRICS = [
  ...HEADLINE_METRICS,
  'product_bleu4',
  'product_cider',
  'repeated_bigram_share',
  'product_repeated_bigram_share',
  'product_distinct2',
  'empty_cls_cam',
] as const;
export type ExperimentMetric = (typeof EXPERIMENT_METRICS)[number];
export type RunMetrics = Record<ExperimentMetric, number | null>;

const HEADERS: Record<ExperimentMetric, string> = {
  top1: 'Top-1',
  top5: 'Top-5',
  bleu1: 'BLEU-1',
  bleu2: 'BLEU-2',
  bleu3: 'BLEU-3',
  bleu4: 'BLEU-4',
  meteor: 'METEOR',
  rougeL: 'ROUGE-L',
  cider: 'CIDEr',
  cam_agreement: 'CAM agr.',
  product_bleu4: 'BLEU-4 (beam)',
  product_cider: 'CIDEr (beam)',
  repeated_bigram_share: 'Rep. (greedy)',
  product_repeated_bigram_share: 'Rep. (beam)',
  product_distinct2: 'Dist-2 (beam)',
  empty_cls_cam: 'Empty species maps',
};

const NAMES: Record<Variant, string> = {
  cnn: 'CNN',
  lrcn: 'LRCN',
  medi: 'f_medi (no L_cam)',
  cam: 'Ours (L_cam)',
};

/** Classification metrics compare with CNN, everything else with LRCN (the paper's Table 2). */
const CLASSIFICATION: ReadonlySet<ExperimentMetric> = new Set(['top1', 'top5']);
export const baselineOf = (m: ExperimentMetric): Variant => (CLASSIFICATION.has(m) ? 'cnn' : 'lrcn');

export interface Stat {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single seed. */
  sd: number;
  n: number;
}

export interface Delta {
  /** (mean − baseline mean) / baseline mean; null when the baseline mean is 0. */
  relative: number | null;
  /** |difference of means| ≤ the larger of the two sds: not a win or a loss. */
  tie: boolean;
}

export interface VariantSummary {
  variant: Variant;
  seeds: number;
  stats: Partial<Record<ExperimentMetric, Stat>>;
  /** Against baselineOf(metric), for metrics both have (absent for the baseline itself). */
  deltas: Partial<Record<ExperimentMetric, Delta>>;
}

export function stat(xs: number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

export function delta(a: Stat, base: Stat): Delta {
  const diff = a.mean - base.mean;
  return {
    relative: base.mean !== 0 ? diff / base.mean : null,
    tie: Math.abs(diff) <= Math.max(a.sd, base.sd),
  };
}

/** Per variant (in the order given), mean ± sd over its runs and deltas against the baselines. */
export function summarise(runs: { variant: Variant; metrics: RunMetrics }[], variants: Variant[]): VariantSummary[] {
  const statsOf = (v: Variant) => {
    const mine = runs.filter((r) => r.variant === v);
    const out: Partial<Record<ExperimentMetric, Stat>> = {};
    for (const m of EXPERIMENT_METRICS) {
      const xs = mine.map((r) => r.metrics[m]).filter((x): x is number => x !== null && Number.isFinite(x));
      if (xs.length) out[m] = stat(xs);
    }
    return { seeds: mine.length, stats: out };
  };
  const all = new Map(variants.map((v) => [v, statsOf(v)]));
  return variants.map((v) => {
    const { seeds, stats } = all.get(v)!;
    const deltas: Partial<Record<ExperimentMetric, Delta>> = {};
    for (const m of EXPERIMENT_METRICS) {
      const base = baselineOf(m);
      const b = all.get(base)?.stats[m];
      if (v !== base && stats[m] && b) deltas[m] = delta(stats[m]!, b);
    }
    return { variant: v, seeds, stats, deltas };
  });
}

const cell = (s: Stat | undefined) => (s ? `${s.mean.toFixed(3)} ± ${s.sd.toFixed(3)}` : '—');
const pct = (d: Delta | undefined) => {
  if (!d) return '—';
  if (d.relative === null) return d.tie ? 'tie' : '—';
  const p = `${d.relative >= 0 ? '+' : ''}${(100 * d.relative).toFixed(1)}%`;
  return d.tie ? `tie (${p})` : p;
};

/** One metric of a paired comparison: the per-seed differences (variant − against). */
export interface PairedStat extends Stat {
  /** Seeds where the variant scored higher / lower than the one it is compared with. */
  higher: number;
  lower: number;
  /** |mean| > 2 standard errors (sd/√n), n ≥ 3: a difference the seeds show, not noise. */
  clear: boolean;
}

export interface PairedComparison {
  variant: Variant;
  against: Variant;
  seeds: number[];
  stats: Partial<Record<ExperimentMetric, PairedStat>>;
}

export function pairedStat(diffs: number[]): PairedStat {
  const s = stat(diffs);
  const se = s.n > 1 ? s.sd / Math.sqrt(s.n) : Infinity;
  return {
    ...s,
    higher: diffs.filter((d) => d > 0).length,
    lower: diffs.filter((d) => d < 0).length,
    clear: s.n >= 3 && Math.abs(s.mean) > 2 * se,
  };
}

/**
 * Differences seed by seed. cam's fine-tune starts from the same seed's medi run, so most of the
 * seed-to-seed spread (which photos the split and the shuffles favour) is shared by the two; the
 * differences show an effect that the one-sd rule of unpaired means hides. Null when fewer than
 * two seeds have both variants.
 */
export function pairedComparison(
  runs: { variant: Variant; seed: number; metrics: RunMetrics }[],
  variant: Variant,
  against: Variant,
): PairedComparison | null {
  const bySeed = (v: Variant) => new Map(runs.filter((r) => r.variant === v).map((r) => [r.seed, r.metrics]));
  const [mine, theirs] = [bySeed(variant), bySeed(against)];
  const seeds = [...mine.keys()].filter((s) => theirs.has(s)).sort((a, b) => a - b);
  if (seeds.length < 2) return null;
  const stats: Partial<Record<ExperimentMetric, PairedStat>> = {};
  for (const m of EXPERIMENT_METRICS) {
    const diffs = seeds.map((s) => mine.get(s)![m]! - theirs.get(s)![m]!);
    if (seeds.every((s) => mine.get(s)![m] !== null && theirs.get(s)![m] !== null) && diffs.every(Number.isFinite)) stats[m] = pairedStat(diffs);
  }
  return { variant, against, seeds, stats };
}

const PAIRED_METRICS: ExperimentMetric[] = ['top1', 'bleu4', 'meteor', 'cider', 'product_bleu4', 'product_cider', 'cam_agreement'];

/** The paired comparison as a table: one row per metric. */
export function formatPaired(p: PairedComparison): string[] {
  const sign = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
  const rows = PAIRED_METRICS.filter((m) => p.stats[m]).map((m) => {
    const s = p.stats[m]!;
    return `| ${HEADERS[m]} | ${sign(s.mean)} ± ${s.sd.toFixed(3)} | ${s.higher} / ${s.lower} | ${s.clear ? 'yes' : 'no'} |`;
  });
  return [
    `Paired by seed, ${NAMES[p.variant]} − ${NAMES[p.against]} over ${p.seeds.length} seeds (the same seed's runs; cam starts from that seed's medi): mean ± sd of the differences, seeds higher / lower, "clear" = mean beyond 2 standard errors:`,
    `| Metric | Difference | Higher / lower | Clear |`,
    '|---|---|---|---|',
    ...rows,
  ];
}

/** Markdown table lines (also readable in a terminal): one row per variant. */
function table(rows: VariantSummary[], metrics: readonly ExperimentMetric[], value: (r: VariantSummary, m: ExperimentMetric) => string): string[] {
  const lines = [`| Model | ${metrics.map((m) => HEADERS[m]).join(' | ')} |`, `|---|${metrics.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${NAMES[r.variant]} | ${metrics.map((m) => value(r, m)).join(' | ')} |`);
  return lines;
}

/** The paper's Table 2 layout, mean ± sd over seeds, then the relative deltas and a decoding table. */
export function formatExperiment(rows: VariantSummary[]): string[] {
  const main: ExperimentMetric[] = ['top1', 'top5', 'bleu1', 'bleu2', 'bleu3', 'bleu4', 'meteor', 'rougeL', 'cider', 'cam_agreement'];
  const decoding: ExperimentMetric[] = ['bleu4', 'cider', 'repeated_bigram_share', 'product_bleu4', 'product_cider', 'product_repeated_bigram_share', 'product_distinct2'];
  const seeds = Math.max(...rows.map((r) => r.seeds));
  return [
    `Mean ± sd over ${seeds} seed(s), test split; caption metrics of the contract's greedy decoding:`,
    ...table(rows, main, (r, m) => cell(r.stats[m])),
    '',
    'Relative to CNN (top-1, top-5) and LRCN (caption metrics); "tie" = difference within one sd:',
    ...table(rows, main, (r, m) => pct(r.deltas[m])),
    '',
    'Greedy (contract) vs product decoding (beam search, repetition blocking, contrastive ranking); Rep. = share of captions with a repeated word bigram:',
    ...table(
      rows.filter((r) => r.stats.cider),
      decoding,
      (r, m) => cell(r.stats[m]),
    ),
    '',
    'Heat maps: CAM agreement of the two heads, and the share of test photos whose species heat map is all zero (nothing in the photo counts for the guess):',
    ...table(
      rows.filter((r) => r.stats.empty_cls_cam),
      ['cam_agreement', 'empty_cls_cam'],
      (r, m) => cell(r.stats[m]),
    ),
  ];
}
