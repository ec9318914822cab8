/**
 * Token-level unlikelihood (Welleck et al., "Neural text generation with unlikelihood training",
 * 2019), a training option of L_caption beyond the contract: at each position of a teacher-forced
 * caption, the words already written earlier in that caption, other than the word due next, are
 * pushed down by −log(1 − p(word)). Greedy decoding loops ("a white and a and a …") because the
 * captioner gives words it has just written high probability again; this term penalises exactly
 * that, and leaves a word that the reference itself repeats ("a … and a …") free where it is due.
 * Inference is unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { FIRST_WORD, PAD } from './model.ts';
import { logSoftmax } from './ops.ts';

/**
 * Flat indices row·V + word of every (position, earlier word) pair to penalise, for captions
 * [B, T] (BOS words EOS PAD…): row b·(T−1)+t predicts caps[b, t+1]; its candidates are the
 * distinct words among caps[b, 1..t] other than caps[b, t+1]. Special tokens (PAD, BOS, EOS,
 * UNK) are never candidates, and a position whose target is PAD has none.
 */
export function repeatCandidates(caps: Int32Array, B: number, T: number, V: number): Int32Array {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const seen = new Set<number>();
    for (let t = 0; t < T - 1; t++) {
      const prev = caps[b * T + t];
      if (t > 0 && prev >= FIRST_WORD && prev < V) seen.add(prev);
      const target = caps[b * T + t + 1];
      if (target === PAD) continue;
      const row = b * (T - 1) + t;
      for (const w of seen) if (w !== target) out.push(row * V + w);
    }
  }
  return Int32Array.from(out);
}

/**
 * Σ over the candidates of −log(1 − p(word)) under word logits [B·(T−1), V]; 1 − p is kept at
 * least 1e-6 so a word the captioner is sure of gives a large but finite penalty.
 */
export function unlikelihoodSum(wordLogits: tf.Tensor2D, caps: tf.Tensor2D): tf.Scalar {
  const [B, T] = caps.shape;
  const V = wordLogits.shape[1];
  const idx = repeatCandidates(caps.dataSync() as Int32Array, B, T, V);
  if (!idx.length) return tf.scalar(0);
  const p = tf.exp(tf.gather(tf.reshape(logSoftmax(wordLogits), [-1]), tf.tensor1d(idx, 'int32')));
  return tf.neg(tf.sum(tf.log(tf.maximum(tf.sub(1, p), 1e-6)))) as tf.Scalar;
}
