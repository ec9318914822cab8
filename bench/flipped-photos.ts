/**
 * How different are the features of a horizontally flipped photo, and what would caching them
 * cost? For N photos of a folder: the encoder pass of the photo and of its mirror image (seconds
 * per photo), and the cosine between the pooled features (what every head of the model sees) of
 *   - the photo and its flipped copy (true flip augmentation),
 *   - the photo and its map's 5×5 centre window (the crop augmentation, --crop-features 5),
 *   - two different photos of the same species (the spread the model must already cope with).
 * Mirroring the cached map itself gives cosine 1 by construction (the mean ignores positions).
 *
 *   node --import tsx bench/flipped-photos.ts --encoder-path DIR --folder F [--n 24]
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src-main/ml/backend.ts';
import { loadLocalEncoder } from '../src-main/ml/encoders/load.ts';
import { decodeRgb, toInputBatch } from '../src-main/ml/encoders/preprocess.ts';

const { values } = parseArgs({ options: { 'encoder-path': { type: 'string' }, folder: { type: 'string' }, n: { type: 'string' } } });
if (!values['encoder-path'] || !values.folder) throw new Error('usage: bench/flipped-photos.ts --encoder-path DIR --folder F [--n 24]');
const n = Number(values.n ?? 24);

/** Photo files under the folder's species sub-folders, spread over the species. */
function photos(folder: string): string[][] {
  return readdirSync(folder)
    .filter((d) => statSync(join(folder, d)).isDirectory())
    .sort()
    .map((d) => readdirSync(join(folder, d)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => join(folder, d, f)));
}

const cos = (a: Float32Array, b: Float32Array) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) [ab, aa, bb] = [ab + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i]];
  return ab / Math.sqrt(aa * bb);
};
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

await initBackend();
const enc = await loadLocalEncoder(values['encoder-path']);
const bySpecies = photos(values.folder);
const perSpecies = Math.max(2, Math.ceil(n / bySpecies.length));
const flips: number[] = [], windows: number[] = [], sameSpecies: number[] = [];
let seconds = 0, passes = 0;
for (const files of bySpecies) {
  let previous: Float32Array | null = null;
  for (const file of files.slice(0, perSpecies)) {
    const x = toInputBatch([await decodeRgb(file, enc.inputSize)], enc.inputSize, enc.preprocess);
    const mirrored = tf.reverse(x, 2) as tf.Tensor4D;
    const t0 = Date.now();
    const A = enc.embed(x);
    const B = enc.embed(mirrored);
    const [a, b] = [tf.mean(A, [0, 1, 2]).dataSync() as Float32Array, tf.mean(B, [0, 1, 2]).dataSync() as Float32Array];
    seconds += (Date.now() - t0) / 1000;
    passes += 2;
    const [, H, W] = A.shape;
    const centre = tf.mean(A.slice([0, (H - 5) >> 1, (W - 5) >> 1, 0], [1, 5, 5, -1]), [0, 1, 2]).dataSync() as Float32Array;
    flips.push(cos(a, b));
    windows.push(cos(a, centre));
    if (previous) sameSpecies.push(cos(a, previous));
    previous = a;
    tf.dispose([x, mirrored, A, B]);
  }
}
console.log(
  JSON.stringify({
    encoder: enc.id,
    photos: flips.length,
    seconds_per_encoder_pass: seconds / passes,
    cos_photo_vs_flipped_photo: { mean: mean(flips), min: Math.min(...flips) },
    cos_photo_vs_centre_5x5_window: { mean: mean(windows), min: Math.min(...windows) },
    cos_two_photos_same_species: { mean: mean(sameSpecies), min: Math.min(...sameSpecies) },
  }),
);
