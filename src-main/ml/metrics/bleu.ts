/**
 * BLEU-1..4 exactly as coco-caption's bleu_scorer.py (option "closest"): clipped n-gram
 * matches against the per-n-gram maximum reference count, the reference length closest to
 * the candidate's (ties → the shorter), statistics summed over the corpus, and the same
 * 1e-15 / 1e-9 smoothing constants (they decide the value of a zero-match corpus).
 */
import type { NgramBag } from './ngrams.ts';

const TINY = 1e-15;
const SMALL = 1e-9;
export const BLEU_N = 4;

/** Sufficient statistics of one candidate against its references. */
export interface BleuStats {
  testlen: number;
  reflen: number;
  guess: number[];
  correct: number[];
}

/**
 * Statistics of one candidate against its references, from their n-gram bags (orders 1..4,
 * see ngrams.ts). `scratch` is an all-zero array indexed by n-gram id (left all-zero).
 */
export function bleuStats(cand: NgramBag, refs: readonly NgramBag[], scratch: Int32Array): BleuStats {
  const testlen = cand.length;
  // Closest reference length; on a tie the shorter wins (Python's min over (|diff|, len)).
  let reflen = 0;
  let best = Infinity;
  for (const r of refs) {
    const d = Math.abs(r.length - testlen);
    if (d < best || (d === best && r.length < reflen)) {
      best = d;
      reflen = r.length;
    }
  }
  // scratch[g] = the largest count of g in any one reference (the clipping bound).
  for (const r of refs) for (let j = 0; j < r.ids.length; j++) if (r.counts[j] > scratch[r.ids[j]]) scratch[r.ids[j]] = r.counts[j];
  const guess: number[] = [];
  const correct: number[] = [];
  for (let k = 0; k < BLEU_N; k++) {
    guess.push(Math.max(0, testlen - k));
    let c = 0;
    for (let j = cand.start[k]; j < cand.start[k + 1]; j++) c += Math.min(cand.counts[j], scratch[cand.ids[j]]);
    correct.push(c);
  }
  for (const r of refs) for (let j = 0; j < r.ids.length; j++) scratch[r.ids[j]] = 0;
  return { testlen, reflen, guess, correct };
}

/** BLEU-1..n from (summed) statistics, with the brevity penalty. */
export function bleuFromStats(s: BleuStats): number[] {
  const out: number[] = [];
  let prod = 1;
  for (let k = 0; k < BLEU_N; k++) {
    prod *= (s.correct[k] + TINY) / (s.guess[k] + SMALL);
    out.push(prod ** (1 / (k + 1)));
  }
  const ratio = (s.testlen + TINY) / (s.reflen + SMALL);
  if (ratio < 1) {
    const bp = Math.exp(1 - 1 / ratio);
    for (let k = 0; k < BLEU_N; k++) out[k] *= bp;
  }
  return out;
}

/** Corpus BLEU: statistics are summed over images before the ratios are taken. */
export function sumBleuStats(all: readonly BleuStats[]): BleuStats {
  const s: BleuStats = { testlen: 0, reflen: 0, guess: [0, 0, 0, 0], correct: [0, 0, 0, 0] };
  for (const x of all) {
    s.testlen += x.testlen;
    s.reflen += x.reflen;
    for (let k = 0; k < BLEU_N; k++) {
      s.guess[k] += x.guess[k];
      s.correct[k] += x.correct[k];
    }
  }
  return s;
}
