/**
 * Token-level unlikelihood (Welleck et al., "Neural text generation with unlikelihood training",
 * 2019), a training option of L_caption beyond the contract: at each position of a teacher-forced
 * caption, the words that would repeat what the caption already wrote (any earlier word, or the
 * continuation of an earlier bigram), other than the word due next, are pushed down by
 * −log(1 − p(word)). Greedy decoding loops ("a white and a and a …") because the
 * captioner gives what it has just written high probability again; this term penalises that, and
 * leaves a word that the reference itself repeats ("a … and a …") free where it is due.
 * The sequence-level form (ownLoopUnlikelihood) pushes down the same kind of repeat where greedy
 * decoding meets it: in the captioner's own greedy captions. Inference is unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { type CapPrep, EOS, FIRST_WORD, PAD, greedyCaptions, teacherForced } from './model.ts';
import { logSoftmax } from './ops.ts';

/** What counts as a repeat: any earlier word, or a word that would write an earlier bigram again. */
export const REPEAT_UNITS = ['words', 'bigrams'] as const;
export type RepeatUnit = (typeof REPEAT_UNITS)[number];

/**
 * Flat indices row·V + word of every (position, repeat) pair to penalise, for captions [B, T]
 * (BOS words EOS PAD…): row b·(T−1)+t predicts caps[b, t+1]. With `words` its candidates are the
 * distinct words among caps[b, 1..t]; with `bigrams` the words that followed caps[b, t] earlier in
 * the caption (so a word may come back, but not after the same word: "and a and a" is caught). Never the word
 * due next, never a special token (PAD, BOS, EOS, UNK), none where the target is PAD.
 */
export function repeatCandidates(caps: Int32Array, B: number, T: number, V: number, unit: RepeatUnit = 'words'): Int32Array {
  const out: number[] = [];
  const isWord = (w: number) => w >= FIRST_WORD && w < V;
  for (let b = 0; b < B; b++) {
    const at = (t: number) => caps[b * T + t];
    const seen = new Set<number>();
    const followers = new Map<number, Set<number>>();
    for (let t = 0; t < T - 1; t++) {
      if (t > 0 && isWord(at(t))) seen.add(at(t));
      // the bigram that ends at t, once both of its words are written ones
      if (t > 1 && isWord(at(t))) followers.set(at(t - 1), (followers.get(at(t - 1)) ?? new Set()).add(at(t)));
      const target = at(t + 1);
      if (target === PAD) continue;
      const candidates = unit === 'words' ? seen : (followers.get(at(t)) ?? []);
      const row = b * (T - 1) + t;
      for (const w of candidates) if (w !== target) out.push(row * V + w);
    }
  }
  return Int32Array.from(out);
}

/**
 * Σ over the candidates of −log(1 − p(word)) under word logits [B·(T−1), V]; 1 − p is kept at
 * least 1e-6 so a word the captioner is sure of gives a large but finite penalty.
 */
export function unlikelihoodSum(wordLogits: tf.Tensor2D, caps: tf.Tensor2D, unit: RepeatUnit = 'words'): tf.Scalar {
  const [B, T] = caps.shape;
  return unlikelihoodAt(wordLogits, repeatCandidates(caps.dataSync() as Int32Array, B, T, wordLogits.shape[1], unit));
}

/** Σ −log(1 − p) at flat indices row·V + word of word logits [rows, V]. */
function unlikelihoodAt(wordLogits: tf.Tensor2D, idx: Int32Array): tf.Scalar {
  if (!idx.length) return tf.scalar(0);
  const p = tf.exp(tf.gather(tf.reshape(logSoftmax(wordLogits), [-1]), tf.tensor1d(idx, 'int32')));
  return tf.neg(tf.sum(tf.log(tf.maximum(tf.sub(1, p), 1e-6)))) as tf.Scalar;
}

/**
 * Sequence-level unlikelihood (Welleck et al. 2019, §5.2), on the captioner's own greedy
 * captions rather than the references: token-level unlikelihood only ever sees the reference's
 * prefixes, while the loops happen after the captioner's own words. Flat indices row·V + word of
 * own greedy captions [B, T] (BOS words EOS PAD…; row b·(T−1)+t wrote caps[b, t+1]) at each
 * place where the word written next repeats a bigram of two words that the caption already wrote,
 * up to its EOS.
 */
export function loopCandidates(own: Int32Array, B: number, T: number, V: number): Int32Array {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const written = new Set<number>();
    for (let t = 1; t < T - 1; t++) {
      const [prev, next] = [own[b * T + t], own[b * T + t + 1]];
      if (next === EOS || next === PAD) break;
      if (prev < FIRST_WORD || next < FIRST_WORD) continue;
      const bigram = prev * V + next;
      if (written.has(bigram)) out.push((b * (T - 1) + t) * V + next);
      else written.add(bigram);
    }
  }
  return Int32Array.from(out);
}

/**
 * Σ −log(1 − p(word)) over the loop candidates of the captioner's own greedy captions of `feat`
 * (T tokens, as the batch's captions), each word's probability from a teacher-forced pass over that
 * caption; the decoding itself is an argmax, so no gradient flows through it.
 */
export function ownLoopUnlikelihood(cp: CapPrep, feat: tf.Tensor, T: number): tf.Scalar {
  const own = greedyCaptions(cp, feat, T);
  const idx = loopCandidates(own.dataSync() as Int32Array, own.shape[0], T, cp.V);
  const sum = idx.length ? unlikelihoodAt(teacherForced(cp, feat, own, undefined, true), idx) : tf.scalar(0);
  own.dispose();
  return sum;
}
