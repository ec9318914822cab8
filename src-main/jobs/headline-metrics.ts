/**
 * The headline test metrics of a run, shared by `evaluate` (EvalResult) and `demo` (its table rows).
 * Kept apart from evaluate.ts because demo loads that module lazily and must still build its rows
 * (top-1/top-5 from training) when evaluation cannot load.
 */

import { HEADLINE_METRICS, type HeadlineMetrics } from '../../shared/types.ts';

// The list and its type are part of the evaluation result that crosses to the renderer.
export { HEADLINE_METRICS, type HeadlineMetrics };

/** Just the headline metrics of a result (null where absent), in HEADLINE_METRICS order. */
export function headlineMetrics(m: Partial<HeadlineMetrics> = {}): HeadlineMetrics {
  return Object.fromEntries(HEADLINE_METRICS.map((k) => [k, m[k] ?? null])) as HeadlineMetrics;
}
