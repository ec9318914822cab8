/**
 * Scheduled sampling (Bengio et al., 2015) in its one-pass form (Duckworth et al., "Parallel
 * scheduled sampling", 2019), a training option of L_caption beyond the contract. Teacher forcing
 * only ever feeds the captioner the reference's words, while greedy decoding feeds it its own: a
 * captioner that has never seen its own slips does not recover from them, and loops. Here a share
 * of the input words is replaced by the captioner's own greedy guess at that position (from a
 * teacher-forced pass of the same weights, no gradient through the guess); the targets stay the
 * reference's. Inference is unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { mixSeed, mulberry32 } from '../util/rng.ts';
import { type CapPrep, UNK, padBosBan, teacherForced } from './model.ts';

/** The share of input words replaced, and the seed of the draw (per step, so a step is reproducible). */
export interface ScheduledSampling {
  rate: number;
  seed: number;
  /** The row of the whole batch where this part starts: each row draws from its own stream, so a
   * batch split into parts draws as the whole does. */
  firstRow?: number;
}

/**
 * Teacher-forcing inputs [B, T−1] (flat) for captions [B, T] (BOS words EOS PAD…): position t is
 * the caption's word at t, or, with probability `rate`, the captioner's guess for it, guesses[b,
 * t−1] (guesses [B, T−1] flat: row b·(T−1)+t guesses caps[b, t+1]). BOS, EOS and PAD are never
 * replaced, so a caption's length and its masks stay the reference's.
 */
export function sampledInputs(
  caps: Int32Array,
  guesses: Int32Array,
  B: number,
  T: number,
  s: ScheduledSampling,
): Int32Array {
  const out = new Int32Array(B * (T - 1));
  for (let b = 0; b < B; b++) {
    const draw = mulberry32(mixSeed(s.seed, (s.firstRow ?? 0) + b));
    for (let t = 0; t < T - 1; t++) {
      const given = caps[b * T + t];
      // a draw at every position, so a row's draws do not depend on its length
      const replace = draw() < s.rate;
      out[b * (T - 1) + t] = replace && t > 0 && given >= UNK ? guesses[b * (T - 1) + t - 1] : given;
    }
  }
  return out;
}

/**
 * The inputs [B, T−1] of L_caption's pass for captions [B, T]: sampledInputs with the guesses of a
 * plain teacher-forced pass of the same weights (argmax, PAD and BOS never guessed, as in greedy
 * decoding; no gradient flows back through a guess).
 */
export function ownGuessInputs(
  cp: CapPrep,
  feat: tf.Tensor,
  caps: tf.Tensor2D,
  s: ScheduledSampling,
): tf.Tensor2D {
  const [B, T] = caps.shape;
  const guesses = tf.tidy(() =>
    tf.argMax(tf.add(teacherForced(cp, feat, caps, undefined, true), padBosBan(cp.V)), 1).toInt(),
  );
  const mixed = sampledInputs(caps.dataSync() as Int32Array, guesses.dataSync() as Int32Array, B, T, s);
  guesses.dispose();
  return tf.tensor2d(mixed, [B, T - 1], 'int32');
}
