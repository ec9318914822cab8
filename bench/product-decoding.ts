/**
 * Speed of the product decoding (beam 3, no repeated bigram) with its contrastive ranking against
 * the prior feature, which steps every hypothesis twice, against the same search without it (the
 * reference, interleaved in the same sitting). A `small` medi captioner with random weights (the
 * captions run to the length limit: the slowest case), 1,280-channel features, 600 words, 128
 * photos per call as the app's scoring batches. Prints {"bench":"product_decoding",…,"ratio"}:
 * ratio = contrastive time / plain time (median of the rounds). `--quick`: 32 photos, 2 rounds.
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { DIMS } from '../src-main/jobs/train/config.ts';
import { backendInfo, initBackend } from '../src-main/ml/backend.ts';
import { PRODUCT_DECODING, productDecode } from '../src-main/ml/decode.ts';
import { feature, initParams, rng } from '../src-main/ml/model.ts';
import { median } from './lib/stats.ts';


export async function benchProductDecoding(quick = false) {
  await initBackend();
  const photos = quick ? 32 : 128;
  const rounds = quick ? 2 : 5;
  const dims = { K: 1280, C: 5, V: 600, ...DIMS.small };
  const P = initParams('medi', dims, 1);
  const r = rng(2);
  const feat = tf.tidy(() => feature(P, 'medi', tf.tensor2d(Float32Array.from({ length: photos * dims.K }, () => r()), [photos, dims.K])));
  const prior = Array.from(tf.tidy(() => tf.mean(feat, 0)).dataSync());
  const T = 20;
  const time = (contrast: number) => {
    const t0 = performance.now();
    productDecode(P, feat, T, { contrast }, prior).dispose();
    return performance.now() - t0;
  };
  time(0); // warm-up: kernels, packed weights
  const plain: number[] = [];
  const contrastive: number[] = [];
  for (let i = 0; i < rounds; i++) {
    plain.push(time(0));
    contrastive.push(time(PRODUCT_DECODING.contrast));
  }
  tf.dispose([feat, ...Object.values(P)]);
  const ms = median(contrastive);
  const refMs = median(plain);
  return {
    bench: 'product_decoding',
    backend: backendInfo()?.detail ?? '',
    images: photos,
    beam: PRODUCT_DECODING.width,
    dims: 'small',
    ms: Math.round(ms),
    ref_ms: Math.round(refMs),
    ratio: Number((ms / refMs).toFixed(2)),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(JSON.stringify(await benchProductDecoding(process.argv.includes('--quick'))) + '\n');
}
