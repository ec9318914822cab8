/**
 * Caption decoding. Greedy is the contract's (docs/design.md: The model: from BOS, T−1 steps,
 * argmax with PAD and BOS excluded, PAD after EOS; it lives in model.ts because training needs it)
 * and what eval reports as the paper metric. Beam search is the product's decoding (`plumage
 * caption`, the app): hypotheses ranked by log-prob / length^α, and optionally no word n-gram may
 * occur twice in a caption — small captioners trained on few photos otherwise loop ("a white and
 * a and a"). With width 1, α and no blocking it returns exactly the greedy caption.
 *
 * Contrastive ranking (on by default in the product decoding): a captioner trained on few photos
 * writes nearly the same caption for every photo of a species, the words any bird gets. Ranking
 * each next word by log p(w | photo) − γ·log p(w | prior), where the prior is the captioner's
 * mean feature over its training photos (what it says of "a typical photo"), prefers the words
 * this photo makes likelier than usual. Only words with p ≥ 0.1 of the best word's probability
 * may be chosen, so the penalty never promotes a word the photo makes unlikely (the plausibility
 * constraint of contrastive decoding, Li et al. 2023).
 */
import * as tf from '@tensorflow/tfjs';
import { BOS, EOS, PAD, type ParamView, capPrep, featureGates, greedyDecode, lstmStep } from './model.ts';
import { embed, logSoftmax, mmNT } from './ops.ts';
import { conflict, invalidRequest } from '../util/errors.ts';

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
  /**
   * γ of the contrastive ranking against the captioner's prior feature; 0 = off. Applies only
   * when the caller passes a prior (runs trained before it was kept decode without it).
   */
  contrast?: number;
}

/** A word may be chosen by the contrastive ranking only if p ≥ this share of the best word's p. */
export const CONTRAST_PLAUSIBILITY = 0.1;

/**
 * The product's decoding: `plumage caption`, the app and eval's "product" metrics use it.
 * Chosen on real CUB photos (docs/evaluation.md): bigram blocking removes the loops at no cost
 * in CIDEr; α = 1 is the mean per-token log-prob.
 */
export const PRODUCT_DECODING: Required<BeamOptions> = { width: 3, lengthAlpha: 1, noRepeatNgram: 2, contrast: 0.3 };

/** Short description of decoding options, for reports ("beam 3, α 1, no repeated 2-grams"). */
export function describeDecoding(o: BeamOptions): string {
  const { width, lengthAlpha, noRepeatNgram, contrast } = { ...PRODUCT_DECODING, ...o };
  return `beam ${width}, α ${lengthAlpha}${noRepeatNgram ? `, no repeated ${noRepeatNgram}-grams` : ''}${contrast ? `, contrast ${contrast}` : ''}`;
}

/** The product decoding's settings as they apply to a run with or without a prior feature. */
export function productSettings(o: BeamOptions, prior: ArrayLike<number> | null | undefined): Required<BeamOptions> {
  const all = { ...PRODUCT_DECODING, ...o };
  return prior ? all : { ...all, contrast: 0 };
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

/** Where a hypothesis' next-token log-probs under the prior feature are, and their weight γ. */
interface PriorRow {
  at: number;
  gamma: number;
}

const allowed = (k: number, blocked: Set<number>) => k !== PAD && k !== BOS && !blocked.has(k);

/** The lowest log-prob a word may have to be ranked contrastively: the plausibility floor. */
function plausibleFloor(lp: Float32Array, at: number, V: number, blocked: Set<number>): number {
  let top = -Infinity;
  for (let k = 0; k < V; k++) if (allowed(k, blocked) && lp[at + k] > top) top = lp[at + k];
  return top + Math.log(CONTRAST_PLAUSIBILITY);
}

/**
 * The best `width` allowed next tokens of one hypothesis (enough to find the best `width`
 * overall), by log-prob, or by the contrastive score among the plausible tokens given a prior row.
 */
function bestTokens(lp: Float32Array, at: number, V: number, width: number, blocked: Set<number>, prior?: PriorRow) {
  const best: { tok: number; v: number }[] = [];
  const floor = prior ? plausibleFloor(lp, at, V, blocked) : -Infinity;
  for (let k = 0; k < V; k++) {
    if (!allowed(k, blocked) || lp[at + k] < floor) continue;
    const x = prior ? lp[at + k] - prior.gamma * lp[prior.at + k] : lp[at + k];
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

/**
 * One image's search: the hypotheses still growing and the finished ones. The search of a batch
 * advances every image's hypotheses with one LSTM step; each image then picks its own next
 * hypotheses from its rows of the log-probs, exactly as a search of that image alone would.
 */
class ImageSearch {
  alive: Hyp[] = [{ tokens: [BOS], logp: 0 }];
  private finished: Hyp[] = [];
  private readonly score: (h: Hyp) => number;

  constructor(private readonly o: Required<BeamOptions>) {
    this.score = (h) => normalisedScore(h.logp, h.tokens.length - 1, o.lengthAlpha);
  }

  /** Whether it takes part in step t: tokens left, hypotheses growing, not settled. */
  growing(t: number, T: number): boolean {
    return t < T - 1 && this.alive.length > 0 && !settled(this.finished, this.alive, this.o.width, this.score);
  }

  /**
   * One token more, from the log-probs of its alive hypotheses (rows from `row` of lp [·, V];
   * with contrast, their rows under the prior feature from `priorRow`); returns, for each new
   * alive hypothesis, the index of the old one it extends.
   */
  advance(lp: Float32Array, row: number, V: number, priorRow?: number): number[] {
    const { width, noRepeatNgram, contrast } = this.o;
    const cands: Candidate[] = [];
    this.alive.forEach((h, i) => {
      const blocked = noRepeatNgram > 0 ? blockedTokens(h.tokens, noRepeatNgram) : new Set<number>();
      const prior = priorRow === undefined ? undefined : { at: (priorRow + i) * V, gamma: contrast };
      const best = bestTokens(lp, (row + i) * V, V, width, blocked, prior);
      // every continuation blocked (only possible with a vocabulary of a few words): it ends here
      if (!best.length) this.finished.push(h);
      for (const q of best) cands.push({ parent: i, tok: q.tok, logp: h.logp + q.v });
    });
    cands.sort((a, z) => z.logp - a.logp || a.parent - z.parent || a.tok - z.tok);
    const next: Hyp[] = [];
    const parents: number[] = [];
    for (const q of cands.slice(0, width)) {
      const h = { tokens: [...this.alive[q.parent].tokens, q.tok], logp: q.logp };
      if (q.tok === EOS) this.finished.push(h);
      else {
        next.push(h);
        parents.push(q.parent);
      }
    }
    this.alive = next;
    return parents;
  }

  /** The best caption found (BOS first, unpadded, at most T tokens). */
  best(T: number): number[] {
    const pool = this.finished.concat(this.alive);
    let best = pool[0];
    for (const h of pool) if (this.score(h) > this.score(best)) best = h;
    return best.tokens.slice(0, T);
  }
}

/** The LSTM state of every alive hypothesis of the growing images, one row each. */
interface BatchState {
  s: tf.Tensor | null;
  c: tf.Tensor | null;
}

/** One step for all rows: next-token log-probs [rows, V] (read back) and the new state. */
function stepRows(cp: ReturnType<typeof capPrep>, fg: tf.Tensor, rowImage: number[], lastTokens: number[], st: BatchState) {
  const last = tf.tensor1d(lastTokens, 'int32');
  const img = tf.tensor1d(rowImage, 'int32');
  const out = tf.tidy(() => {
    const xg = tf.add(mmNT(embed(cp.embedW, last), cp.We, cp.WeT), tf.gather(fg, img));
    const r = lstmStep(cp, xg, st.s, st.c);
    const lp = logSoftmax(tf.add(mmNT(r.s, cp.Wo, cp.WoT), cp.outB));
    return { s: r.s, c: r.c, lp };
  });
  tf.dispose([last, img]);
  const lp = out.lp.dataSync() as Float32Array;
  const V = out.lp.shape[1] as number;
  out.lp.dispose();
  return { lp, V, s: out.s, c: out.c };
}

/**
 * Beam search of all images at once; returns each image's token row (BOS first, unpadded). With
 * `withPrior`, row B of fg is the prior feature's: every hypothesis is stepped twice, under its
 * photo (rows 0..R−1) and under the prior (rows R..2R−1, the same order), for the contrastive ranking.
 */
function searchAll(cp: ReturnType<typeof capPrep>, fg: tf.Tensor, B: number, T: number, o: Required<BeamOptions>, withPrior: boolean): number[][] {
  const searches = Array.from({ length: B }, () => new ImageSearch(o));
  let st: BatchState = { s: null, c: null };
  let growing = searches.map((_, b) => b).filter((b) => searches[b].growing(0, T));
  for (let t = 0; growing.length > 0; t++) {
    const rowImage = growing.flatMap((b) => searches[b].alive.map(() => b));
    const lastTokens = growing.flatMap((b) => searches[b].alive.map((h) => h.tokens[h.tokens.length - 1]));
    const R = rowImage.length;
    const step = withPrior
      ? stepRows(cp, fg, [...rowImage, ...rowImage.map(() => B)], [...lastTokens, ...lastTokens], st)
      : stepRows(cp, fg, rowImage, lastTokens, st);
    tf.dispose([st.s, st.c].filter((x): x is tf.Tensor => x !== null));
    // rows of the next state: each image's new hypotheses' parents, if it still grows
    const keep: number[] = [];
    let row = 0;
    const still: number[] = [];
    for (const b of growing) {
      const rows = searches[b].alive.length;
      const parents = searches[b].advance(step.lp, row, step.V, withPrior ? R + row : undefined);
      if (searches[b].growing(t + 1, T)) {
        still.push(b);
        for (const p of parents) keep.push(row + p);
      }
      row += rows;
    }
    st = keep.length ? gatherState(step, withPrior ? [...keep, ...keep.map((k) => k + R)] : keep) : { s: null, c: null };
    tf.dispose([step.s, step.c]);
    growing = still;
  }
  return searches.map((s) => s.best(T));
}

function gatherState(step: { s: tf.Tensor; c: tf.Tensor }, rows: number[]): BatchState {
  const idx = tf.tensor1d(rows, 'int32');
  const out = { s: tf.gather(step.s, idx), c: tf.gather(step.c, idx) };
  idx.dispose();
  return out;
}

/**
 * Beam search over captioner features feat [B,F]; returns [B,T] int32 (BOS first, PAD-padded).
 * Candidates never include PAD or BOS; a hypothesis ends at EOS, after T−1 tokens, or when
 * blocking leaves it no token. `opts` may be just the width (then no blocking, α = 1). All
 * images are searched together: one LSTM step per token for every alive hypothesis of every
 * image (the per-step cost is the ops' dispatch, not their arithmetic). `prior` (the captioner's
 * prior feature, F values) turns on the contrastive ranking when `contrast` > 0.
 */
export function beamSearch(P: ParamView, feat: tf.Tensor2D, T: number, opts: BeamOptions | number = {}, prior?: ArrayLike<number> | null): tf.Tensor2D {
  const o: Required<BeamOptions> =
    typeof opts === 'number'
      ? { width: opts, lengthAlpha: 1, noRepeatNgram: 0, contrast: 0 }
      : { width: opts.width ?? 3, lengthAlpha: opts.lengthAlpha ?? 1, noRepeatNgram: opts.noRepeatNgram ?? 0, contrast: opts.contrast ?? 0 };
  if (!(o.width >= 1) || !Number.isInteger(o.width)) throw invalidRequest('beam width must be a whole number ≥ 1');
  if (!(o.noRepeatNgram >= 0) || !Number.isInteger(o.noRepeatNgram))
    throw invalidRequest('the repeated n-gram size must be a whole number ≥ 0');
  if (!Number.isFinite(o.lengthAlpha)) throw invalidRequest('the length exponent must be a number');
  if (!(o.contrast >= 0) || !Number.isFinite(o.contrast)) throw invalidRequest('the contrast must be a number ≥ 0');
  const B = feat.shape[0];
  const F = feat.shape[1];
  const withPrior = o.contrast > 0 && prior != null;
  if (withPrior && prior.length !== F) throw conflict(`the caption prior has ${prior.length} values, the captioner's feature ${F}`);
  if (withPrior && !Array.prototype.every.call(prior, Number.isFinite)) throw conflict('the caption prior holds a value that is not a finite number');
  const cp = capPrep(P);
  const fg = tf.tidy(() => featureGates(cp, withPrior ? tf.concat([feat, tf.tensor2d(Array.from(prior), [1, F])], 0) : feat));
  try {
    const rows = searchAll(cp, fg, B, T, o, withPrior);
    for (const row of rows) while (row.length < T) row.push(PAD);
    return tf.tensor2d(rows, [B, T], 'int32');
  } finally {
    fg.dispose();
    for (const k of ['We', 'Wf', 'WeT', 'WfT', 'bias', 'WhhT', 'WoT'] as const) cp[k].dispose();
  }
}

/**
 * Captions by the product's decoding (PRODUCT_DECODING unless overridden); its contrastive
 * ranking needs the run's prior feature (without one the search ranks by log-prob alone).
 */
export function productDecode(P: ParamView, feat: tf.Tensor2D, T: number, opts: BeamOptions = {}, prior?: ArrayLike<number> | null): tf.Tensor2D {
  return beamSearch(P, feat, T, { ...PRODUCT_DECODING, ...opts }, prior);
}
