/**
 * The captioner's prior feature: its input feature (h for medi and cam, the pooled map v for
 * lrcn) averaged over the training photos it learnt to caption, under the run's weights. The
 * product decoding ranks each next word against what the captioner would say of this "typical
 * photo" (ml/decode.ts, contrastive ranking); the run keeps it in its sidecar.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureCache } from '../../ml/feature-cache.ts';
import { feature, hasCap, pooled, type ParamView, type Variant } from '../../ml/model.ts';
import type { Example } from './dataset.ts';

/** The mean captioner feature over the captioned training photos (null without a captioner or photos). */
export function captionPrior(params: ParamView, variant: Variant, train: Example[], cache: FeatureCache, batch = 64): number[] | null {
  if (!hasCap(variant)) return null;
  const photos = train.filter((e) => e.captions.length > 0);
  if (!photos.length) return null;
  let sum: tf.Tensor1D | null = null;
  for (let i = 0; i < photos.length; i += batch) {
    const { data, shape } = cache.getBatch(photos.slice(i, i + batch).map((e) => e.hash));
    const part = tf.tidy(() => tf.sum(feature(params, variant, pooled(tf.tensor4d(data, shape))), 0) as tf.Tensor1D);
    const next: tf.Tensor1D = sum ? tf.add(sum, part) : part;
    if (sum) tf.dispose([sum, part]);
    sum = next;
  }
  const mean = tf.div(sum!, photos.length);
  const out = Array.from(mean.dataSync());
  tf.dispose([mean, sum!]);
  return out;
}
