/**
 * Augmentation that keeps the feature cache, for training images only (validation and test see
 * the plain, whole maps):
 * - mirrored photos: with probability ½ per step an image is shown by the cached map of its
 *   mirror image (extracted once, train/features.ts), and its painted mask is mirrored with it;
 * - crops: each image's cached conv map (H×W×K, channels last) is cut to a random S×S window,
 *   which stands in for the features of a crop of the photo (approximately: the cells' receptive
 *   fields reach beyond the window). The model pools the map before every head, so the window
 *   changes what the heads see.
 *
 * Mirroring the cached map itself would be the cheaper stand-in for a mirrored photo, but it is
 * exactly a no-op for this model: the heads see only the spatial mean, and both Grad-CAMs mirror
 * with the map, so no loss or gradient changes (test/unit/train-levers.test.ts shows it).
 *
 * The draws depend only on the run's seed and the global step (not on the shuffle stream), so
 * switching an option off leaves every other random draw as it was and a resumed run repeats them.
 */
import { invalidRequest } from '../../util/errors.ts';
import { mixSeed, mulberry32 } from '../../util/rng.ts';

/** Stream ids of the draws, so they never coincide with each other or with dropout's (same seed and step). */
const CROP_STREAM = 0x63726f70;
const MIRROR_STREAM = 0x6d697272;

/** For each of `n` rows of a step: show its mirror image? (each with probability ½) */
export function mirrorRows(seed: number, globalStep: number, n: number): boolean[] {
  const next = mulberry32(mixSeed(seed, globalStep, MIRROR_STREAM));
  return Array.from({ length: n }, () => next() < 0.5);
}

/** Mirrors, in place, the marked rows of masks [B, H, W] along W. */
export function mirrorMasks(data: Float32Array, shape: readonly number[], rows: readonly boolean[]): void {
  const [B, H, W] = shape;
  for (let b = 0; b < B; b++) {
    if (!rows[b]) continue;
    for (let h = 0; h < H; h++) data.subarray((b * H + h) * W, (b * H + h + 1) * W).reverse();
  }
}

/** Top-left corner [row, column] of each row's window at a step. */
export function cropOffsets(seed: number, globalStep: number, n: number, H: number, W: number, size: number): [number, number][] {
  const next = mulberry32(mixSeed(seed, globalStep, CROP_STREAM));
  return Array.from({ length: n }, () => [Math.floor(next() * (H - size + 1)), Math.floor(next() * (W - size + 1))]);
}

/**
 * The S×S windows at `offsets` of a batch laid out [B, H, W, C] (C = 1 for masks [B, H, W]),
 * as a new batch [B, S, S, C] (or [B, S, S]).
 */
export function cropMaps(
  data: Float32Array,
  shape: readonly number[],
  size: number,
  offsets: readonly [number, number][],
): { data: Float32Array; shape: number[] } {
  const [B, H, W] = shape;
  const C = shape.length > 3 ? shape[3] : 1;
  if (!(size >= 1 && size <= H && size <= W)) throw invalidRequest(`crop of ${size}×${size} cells does not fit feature maps of ${H}×${W}`);
  const out = new Float32Array(B * size * size * C);
  for (let b = 0; b < B; b++) {
    const [top, left] = offsets[b];
    for (let h = 0; h < size; h++) {
      const from = ((b * H + top + h) * W + left) * C;
      out.set(data.subarray(from, from + size * C), (b * size + h) * size * C);
    }
  }
  return { data: out, shape: shape.length > 3 ? [B, size, size, C] : [B, size, size] };
}
