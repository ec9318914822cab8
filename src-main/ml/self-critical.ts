/**
 * Self-critical sequence training (Rennie et al., "Self-critical sequence training for image
 * captioning", 2017), a training option of L_caption beyond the contract. Teacher forcing trains
 * each word given the reference's prefix; evaluation judges whole captions that the captioner
 * wrote itself, by CIDEr-D. Here the captioner samples a caption of each photo, and the sample's
 * log-probability is pushed up by how far its CIDEr-D against the photo's references beats that of
 * the captioner's own greedy caption (the baseline), and down where it scores worse: a policy
 * gradient whose baseline is the decoding the contract evaluates. With several samples per photo,
 * each sample's baseline is instead the mean score of the photo's other samples (Luo, "A better
 * variant of self-critical sequence training", 2020), so the advantages of a photo's samples are
 * centred however much worse than the greedy caption sampling is. Inference is unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { mixSeed, mulberry32 } from '../util/rng.ts';
import { type CapPrep, EOS, FIRST_WORD, PAD, UNK, greedyCaptions, stepwiseCaptions, teacherForced, tokenLogprobs } from './model.ts';

/** CIDEr-D's document frequencies: in how many training photos' references each n-gram occurs. */
export interface DocFreq {
  /** n-gram (its word ids joined by commas) → number of photos */
  counts: Map<string, number>;
  photos: number;
}

export interface SelfCritical {
  /** weight of the term inside L_caption */
  weight: number;
  /** seed of the step's draws */
  seed: number;
  /** The row of the whole batch where this part starts: each row samples from its own stream, so
   * a batch split into parts samples as the whole does. */
  firstRow?: number;
  docFreq: DocFreq;
  /** Captions sampled per photo: 1 (default) scores against the greedy caption, k ≥ 2 against the mean of the other k − 1. */
  samples?: number;
}

const ORDERS = 4;
const SIGMA = 6;

/** The word ids of a caption row (BOS words EOS PAD…): UNK and the words before EOS or PAD. */
export function captionWords(row: ArrayLike<number>): number[] {
  const words: number[] = [];
  for (let t = 1; t < row.length; t++) {
    const w = row[t];
    if (w === EOS || w === PAD) break;
    if (w === UNK || w >= FIRST_WORD) words.push(w);
  }
  return words;
}

/** The n-grams of orders 1…4 of a word list, with their counts, one map per order. */
function ngramCounts(words: number[]): Map<string, number>[] {
  return Array.from({ length: ORDERS }, (_, k) => {
    const m = new Map<string, number>();
    for (let i = 0; i + k < words.length; i++) {
      const key = words.slice(i, i + k + 1).join(',');
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    return m;
  });
}

/** Document frequencies over photos, each given as the word lists of its references. */
export function docFreq(photos: number[][][]): DocFreq {
  const counts = new Map<string, number>();
  for (const refs of photos) {
    const seen = new Set<string>();
    for (const r of refs) for (const order of ngramCounts(r)) for (const key of order.keys()) seen.add(key);
    for (const key of seen) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { counts, photos: photos.length };
}

type TfIdf = ReturnType<typeof tfIdf>;

/** tf-idf weights of a caption's n-grams per order, and each order's norm. */
function tfIdf(words: number[], df: DocFreq) {
  const logN = Math.log(Math.max(1, df.photos));
  const weights = ngramCounts(words).map((order) => {
    const w = new Map<string, number>();
    for (const [key, n] of order) w.set(key, n * (logN - Math.log(Math.max(1, df.counts.get(key) ?? 0))));
    return w;
  });
  const norms = weights.map((w) => Math.sqrt([...w.values()].reduce((a, x) => a + x * x, 0)));
  return { weights, norms, bigrams: Math.max(0, words.length - 1) };
}

/**
 * CIDEr-D of one caption against its references, as coco-caption computes it (metrics/cider.ts:
 * clipped tf-idf similarity per order, Gaussian length penalty on the bigram counts, × 10), with
 * document frequencies given rather than counted over the scored captions' own references.
 */
export function ciderDOf(cand: number[], refs: number[][], df: DocFreq): number {
  return ciderDScorer(refs, df)(cand);
}

/** CIDEr-D against fixed references, their tf-idf weights computed once for every candidate scored. */
function ciderDScorer(refs: number[][], df: DocFreq): (cand: number[]) => number {
  const weighted = refs.map((ref) => tfIdf(ref, df));
  return (cand) => (refs.length ? ciderDAgainst(tfIdf(cand, df), weighted) : 0);
}

function ciderDAgainst(c: TfIdf, refs: TfIdf[]): number {
  let total = 0;
  for (const r of refs) {
    const delta = c.bigrams - r.bigrams;
    const penalty = Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
    for (let k = 0; k < ORDERS; k++) {
      let s = 0;
      for (const [key, wc] of c.weights[k]) {
        const wr = r.weights[k].get(key) ?? 0;
        s += Math.min(wc, wr) * wr;
      }
      if (c.norms[k] !== 0 && r.norms[k] !== 0) s /= c.norms[k] * r.norms[k];
      total += s * penalty;
    }
  }
  return (total / ORDERS / refs.length) * 10;
}

/**
 * Captions [B,T] sampled word by word from the captioner's softmax (PAD and BOS never drawn).
 * Every row draws once per step from its own stream, so a row's caption depends only on the seed,
 * its row of the whole batch and the weights.
 */
export function sampledCaptions(cp: CapPrep, feat: tf.Tensor, T: number, s: { seed: number; firstRow?: number }): tf.Tensor2D {
  const B = feat.shape[0];
  const draws = Array.from({ length: B }, (_, b) => mulberry32(mixSeed(s.seed, (s.firstRow ?? 0) + b)));
  return stepwiseCaptions(cp, feat, T, (logits) => {
    const V = logits.shape[1];
    const p = tf.softmax(logits).dataSync() as Float32Array;
    const next = new Int32Array(B);
    for (let b = 0; b < B; b++) next[b] = drawWord(p.subarray(b * V, (b + 1) * V), draws[b]());
    return tf.tensor1d(next, 'int32');
  });
}

/** The word at which the cumulative probability first passes u (the last possible word where rounding leaves u above the sum). */
function drawWord(p: Float32Array, u: number): number {
  let last = 0;
  for (let w = 0; w < p.length; w++) {
    if (p[w] <= 0) continue;
    last = w;
    u -= p[w];
    if (u < 0) return w;
  }
  return last;
}

type Scorer = (cand: number[]) => number;

/** A CIDEr-D scorer per row, against its references (references [B,R,T]: R caption rows per photo, all-PAD rows unused). */
function rowScorers(references: Int32Array, [B, R, T]: [number, number, number], df: DocFreq): Scorer[] {
  return Array.from({ length: B }, (_, b) => {
    const refs: number[][] = [];
    for (let r = 0; r < R; r++) {
      const words = captionWords(references.subarray((b * R + r) * T, (b * R + r + 1) * T));
      if (words.length) refs.push(words);
    }
    return ciderDScorer(refs, df);
  });
}

/** CIDEr-D of each row of captions [B,T] by that row's scorer. */
function rowScores(captions: Int32Array, scorers: Scorer[], T: number): Float64Array {
  return Float64Array.from(scorers, (score, b) => score(captionWords(captions.subarray(b * T, (b + 1) * T))));
}

/**
 * Per row: CIDEr-D of the sampled caption minus that of the greedy one, both against the row's
 * references (references [B,R,T]: R caption rows per photo, all-PAD rows unused).
 */
export function advantages(sample: Int32Array, greedy: Int32Array, references: Int32Array, shape: [number, number, number], df: DocFreq): Float32Array {
  const scorers = rowScorers(references, shape, df);
  const s = rowScores(sample, scorers, shape[2]);
  const g = rowScores(greedy, scorers, shape[2]);
  // the difference in double precision, rounded once, as when the option was introduced: recorded runs reproduce
  return Float32Array.from(s, (x, b) => x - g[b]);
}

/**
 * Per sample and row: its CIDEr-D minus the mean CIDEr-D of the row's other samples (k ≥ 2
 * samples, each [B,T]; references [B,R,T] as for `advantages`).
 */
export function leaveOneOutAdvantages(samples: Int32Array[], references: Int32Array, shape: [number, number, number], df: DocFreq): Float32Array[] {
  const k = samples.length;
  if (k < 2) throw new Error('leave-one-out advantages need at least 2 samples per photo');
  const scorers = rowScorers(references, shape, df);
  // rounded to float32 before the baselines are taken, as when the option was introduced: runs recorded with it reproduce
  const scores = samples.map((c) => Float32Array.from(rowScores(c, scorers, shape[2])));
  const totals = scorers.map((_, b) => scores.reduce((a, s) => a + s[b], 0));
  return scores.map((s) => s.map((x, b) => x - (totals[b] - x) / (k - 1)));
}

/**
 * The policy-gradient surrogate −Σ_b a_b Σ_t log p(sample_b,t+1 | sample_b,≤t), EOS included, for
 * captions [B,T] and advantages a [B] held constant: its gradient is the REINFORCE estimate.
 */
export function sampleSurrogate(cp: CapPrep, feat: tf.Tensor, sample: tf.Tensor2D, adv: tf.Tensor1D): tf.Scalar {
  const { tok, mask } = tokenLogprobs(teacherForced(cp, feat, sample, undefined, true), sample);
  return tf.neg(tf.sum(tf.mul(tf.sum(tf.mul(tok, mask), 1), adv))) as tf.Scalar;
}

/**
 * The self-critical term of a batch (references [B,R,T]): k samples of each photo with the current
 * weights (no gradient through them), their CIDEr-D advantages (against the greedy caption when
 * k = 1, against the mean of the photo's other samples otherwise), and the surrogate on the
 * samples, averaged over a photo's samples.
 */
export function selfCriticalSum(cp: CapPrep, feat: tf.Tensor, references: tf.Tensor3D, T: number, sc: SelfCritical): tf.Scalar {
  const k = sc.samples ?? 1;
  const samples = Array.from({ length: k }, (_, j) => sampledCaptions(cp, feat, T, { seed: sampleSeed(sc.seed, j), firstRow: sc.firstRow }));
  const drawn = samples.map((c) => c.dataSync() as Int32Array);
  const refs = references.dataSync() as Int32Array;
  const adv = k > 1 ? leaveOneOutAdvantages(drawn, refs, references.shape, sc.docFreq) : [againstGreedy(cp, feat, T, drawn[0], refs, references.shape, sc.docFreq)];
  const terms = samples.map((c, j) => sampleSurrogate(cp, feat, c, tf.tensor1d(adv[j])));
  return tf.div(tf.addN(terms), k) as tf.Scalar;
}

function againstGreedy(cp: CapPrep, feat: tf.Tensor, T: number, sample: Int32Array, refs: Int32Array, shape: [number, number, number], df: DocFreq): Float32Array {
  const greedy = greedyCaptions(cp, feat, T);
  const adv = advantages(sample, greedy.dataSync() as Int32Array, refs, shape, df);
  greedy.dispose();
  return adv;
}

/** The draws of a photo's j-th sample: sample 0 draws as a single sample does, the others from streams of their own. */
export function sampleSeed(seed: number, j: number): number {
  return j === 0 ? seed : mixSeed(seed, j);
}
