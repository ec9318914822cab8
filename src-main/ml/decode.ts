/**
 * Caption decoding. Greedy is the contract's (docs/design.md: The model: from BOS, T−1 steps,
 * argmax with PAD and BOS excluded, PAD after EOS; it lives in model.ts because training needs it)
 * and what eval reports as the paper metric. Beam search is the product's decoding (`plumage
 * caption`, the app): hypotheses ranked by log-prob / length^α, and optionally no word n-gram may
 * occur twice in a caption — small captioners trained on few photos otherwise loop ("a white and
 * a and a"). With width 1, α and no blocking it returns exactly the greedy caption.
 */
import * as tf from '@tensorflow/tfjs';
import { BOS, EOS, PAD, type ParamView, capPrep, featureGates, greedyDecode, lstmStep } from './model.ts';
import { embed, logSoftmax, mmNT } from './ops.ts';
import { invalidRequest } from '../util/errors.ts';

export { greedyDecode };

export interface BeamOptions {
  /** Hypotheses kept per step (default 3). */
  width?: number;
  /**
   * Length normalisation exponent α: a finished caption is ranked by log-prob / length^α, length
   * = words + EOS. 0 ranks by raw log-prob (favours short captions), 1 by mean per-token log-prob.
   */
  lengthAlpha?: number;
  /** Forbid a word n-gram of this size from occurring twice in one caption; 0 = off. */
  noRepeatNgram?: number;
}

/**
 * The product's decoding: `plumage caption`, the app and eval's "product" metrics use it.
 * Chosen on real CUB photos (docs/evaluation.md): bigram blocking removes the loops at no cost
 * in CIDEr; α = 1 is the mean per-token log-prob.
 */
export const PRODUCT_DECODING: Required<BeamOptions> = { width: 3, lengthAlpha: 1, noRepeatNgram: 2 };

/** Short description of decoding options, for reports ("beam 3, α 1, no repeated 2-grams"). */
export function describeDecoding(o: BeamOptions): string {
  const { width, lengthAlpha, noRepeatNgram } = { ...PRODUCT_DECODING, ...o };
  return `beam ${width}, α ${lengthAlpha}${noRepeatNgram ? `, no repeated ${noRepeatNgram}-grams` : ''}`;
}

/** Ranking score of a finished hypothesis: log-prob / length^α (length = tokens after BOS). */
export function normalisedScore(logp: number, length: number, alpha: number): number {
  return logp / Math.pow(Math.max(1, length), alpha);
}

/**
 * Tokens that would complete an n-gram already present in `tokens` (the caption so far): the
 * token after every earlier occurrence of the last n−1 tokens.
 */
export function blockedTokens(tokens: readonly number[], n: number): Set<number> {
  const out = new Set<number>();
  if (n < 1 || tokens.length < n - 1) return out;
  const start = tokens.length - (n - 1);
  for (let i = 0; i + n - 1 < tokens.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = tokens[i + j] === tokens[start + j];
    if (same) out.add(tokens[i + n - 1]);
  }
  return out;
}

interface Hyp {
  tokens: number[];
  logp: number;
}

interface Candidate {
  parent: number;
  tok: number;
  logp: number;
}

/** The best `width` allowed next tokens of one hypothesis (enough to find the best `width` overall). */
function bestTokens(lp: Float32Array, at: number, V: number, width: number, blocked: Set<number>) {
  const best: { tok: number; v: number }[] = [];
  for (let k = 0; k < V; k++) {
    if (k === PAD || k === BOS || blocked.has(k)) continue;
    const x = lp[at + k];
    if (best.length < width || x > best[best.length - 1].v) {
      best.push({ tok: k, v: x });
      best.sort((a, z) => z.v - a.v || a.tok - z.tok);
      if (best.length > width) best.pop();
    }
  }
  return best;
}

/**
 * Stop once `width` captions have ended and none of the hypotheses still growing scores better
 * now than the worst of the best `width` ended ones. Stopping at the first `width` ended captions
 * would cut off longer ones that α > 0 can still prefer; running every search to the length limit
 * doubles the cost. This is the usual heuristic (a hypothesis behind now may still overtake).
 */
function settled(finished: Hyp[], alive: Hyp[], width: number, score: (h: Hyp) => number): boolean {
  if (finished.length < width) return false;
  const top = finished.map(score).sort((a, z) => z - a);
  const worstKept = top[width - 1];
  return alive.every((h) => score(h) <= worstKept);
}

/** Beam search for one image's feature gates; returns the chosen token row (BOS first, unpadded). */
function searchOne(cp: ReturnType<typeof capPrep>, fg: tf.Tensor, T: number, o: Required<BeamOptions>): number[] {
  const { width, lengthAlpha, noRepeatNgram } = o;
  let alive: Hyp[] = [{ tokens: [BOS], logp: 0 }];
  let s: tf.Tensor | null = null;
  let c: tf.Tensor | null = null;
  const finished: Hyp[] = [];
  const score = (h: Hyp) => normalisedScore(h.logp, h.tokens.length - 1, lengthAlpha);
  for (let t = 0; t < T - 1 && alive.length > 0 && !settled(finished, alive, width, score); t++) {
    const last = tf.tensor1d(
      alive.map((h) => h.tokens[h.tokens.length - 1]),
      'int32',
    );
    const step = tf.tidy(() => {
      const xg = tf.add(mmNT(embed(cp.embedW, last), cp.We, cp.WeT), fg);
      const r = lstmStep(cp, xg, s, c);
      const lp = logSoftmax(tf.add(mmNT(r.s, cp.Wo, cp.WoT), cp.outB));
      return { s: r.s, c: r.c, lp };
    });
    last.dispose();
    const lp = step.lp.dataSync() as Float32Array;
    const V = step.lp.shape[1] as number;
    const cands: Candidate[] = [];
    alive.forEach((h, i) => {
      const blocked = noRepeatNgram > 0 ? blockedTokens(h.tokens, noRepeatNgram) : new Set<number>();
      const best = bestTokens(lp, i * V, V, width, blocked);
      // every continuation blocked (only possible with a vocabulary of a few words): it ends here
      if (!best.length) finished.push(h);
      for (const q of best) cands.push({ parent: i, tok: q.tok, logp: h.logp + q.v });
    });
    cands.sort((a, z) => z.logp - a.logp || a.parent - z.parent || a.tok - z.tok);
    const next: Hyp[] = [];
    const parents: number[] = [];
    for (const q of cands.slice(0, width)) {
      const h = { tokens: [...alive[q.parent].tokens, q.tok], logp: q.logp };
      if (q.tok === EOS) finished.push(h);
      else {
        next.push(h);
        parents.push(q.parent);
      }
    }
    const prevS = s;
    const prevC = c;
    if (next.length) {
      const idx = tf.tensor1d(parents, 'int32');
      s = tf.gather(step.s, idx);
      c = tf.gather(step.c, idx);
      idx.dispose();
    } else {
      s = c = null;
    }
    prevS?.dispose();
    prevC?.dispose();
    tf.dispose([step.s, step.c, step.lp]);
    alive = next;
  }
  s?.dispose();
  c?.dispose();
  const pool = finished.concat(alive);
  let best = pool[0];
  for (const h of pool) if (score(h) > score(best)) best = h;
  return best.tokens.slice(0, T);
}

/**
 * Beam search over captioner features feat [B,F]; returns [B,T] int32 (BOS first, PAD-padded).
 * Candidates never include PAD or BOS; a hypothesis ends at EOS, after T−1 tokens, or when
 * blocking leaves it no token. `opts` may be just the width (then no blocking, α = 1).
 */
export function beamSearch(P: ParamView, feat: tf.Tensor2D, T: number, opts: BeamOptions | number = {}): tf.Tensor2D {
  const o: Required<BeamOptions> =
    typeof opts === 'number'
      ? { width: opts, lengthAlpha: 1, noRepeatNgram: 0 }
      : { width: opts.width ?? 3, lengthAlpha: opts.lengthAlpha ?? 1, noRepeatNgram: opts.noRepeatNgram ?? 0 };
  if (!(o.width >= 1) || !Number.isInteger(o.width)) throw invalidRequest('beam width must be a whole number ≥ 1');
  if (!(o.noRepeatNgram >= 0) || !Number.isInteger(o.noRepeatNgram))
    throw invalidRequest('the repeated n-gram size must be a whole number ≥ 0');
  if (!Number.isFinite(o.lengthAlpha)) throw invalidRequest('the length exponent must be a number');
  const B = feat.shape[0];
  const rows: number[][] = [];
  const cp = capPrep(P);
  try {
    for (let b = 0; b < B; b++) {
      const fg = tf.tidy(() => featureGates(cp, tf.slice(feat, [b, 0], [1, -1])));
      try {
        const row = searchOne(cp, fg, T, o);
        while (row.length < T) row.push(PAD);
        rows.push(row);
      } finally {
        fg.dispose();
      }
    }
  } finally {
    for (const k of ['We', 'Wf', 'WeT', 'WfT', 'bias', 'WhhT', 'WoT'] as const) cp[k].dispose();
  }
  return tf.tensor2d(rows, [B, T], 'int32');
}

/** Captions by the product's decoding (PRODUCT_DECODING unless overridden). */
export function productDecode(P: ParamView, feat: tf.Tensor2D, T: number, opts: BeamOptions = {}): tf.Tensor2D {
  return beamSearch(P, feat, T, { ...PRODUCT_DECODING, ...opts });
}
