/**
 * The headline test metrics of a run, shared by `evaluate` (EvalResult) and `demo` (its table rows).
 * Kept apart from evaluate.ts because demo loads that module lazily and must still build its rows
 * (top-1/top-5 from training) when evaluation cannot load.
 */

/** In table order. */
export const HEADLINE_METRICS = [
  'top1',
  'top5',
  'bleu1',
  'bleu2',
  'bleu3',
  'bleu4',
  'meteor',
  'rougeL',
  'cider',
  'cam_agreement',
] as const;
export type HeadlineMetrics = Record<(typeof HEADLINE_METRICS)[number], number | null>;

/** Just the headline metrics of a result (null where absent), in HEADLINE_METRICS order. */
export function headlineMetrics(m: Partial<HeadlineMetrics> = {}): HeadlineMetrics {
  return Object.fromEntries(HEADLINE_METRICS.map((k) => [k, m[k] ?? null])) as HeadlineMetrics;
}
