/**
 * Image → encoder input. Photos are decoded with sharp (EXIF orientation applied, alpha dropped)
 * and squashed to size×size without cropping: parts near the edges (a tail, a bill) matter for
 * the CAMs, so the whole frame is kept; the aspect-ratio distortion is mild for bird photos and
 * the same at training and inference.
 */
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { MAX_PIXELS, readHead, sniffFormat } from '../../util/image-sniff.ts';
import type { Preprocess } from './registry.ts';
import { invalidRequest } from '../../util/errors.ts';

/**
 * Decodes one image file (or buffer) to size×size×3 uint8 RGB. Throws on undecodable input, on
 * content that is not a photo format the importers accept (an SVG named .jpg) and on images over
 * the import pixel limit, so captioning refuses exactly what import refuses.
 */
export async function decodeRgb(input: string | Buffer, size: number): Promise<Uint8Array> {
  const head = typeof input === 'string' ? readHead(input) : input.subarray(0, 32);
  if (head && !sniffFormat(head))
    throw invalidRequest('not a photo (content is not JPEG, PNG, GIF, WebP, TIFF or AVIF)');
  const { data, info } = await decodeOneLine(() =>
    sharp(input, { failOn: 'error', limitInputPixels: MAX_PIXELS })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true }),
  );
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new Error(`unexpected decoded shape ${info.width}x${info.height}x${info.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** sharp's errors can span several lines (libvips repeats its warnings): keep the first. */
async function decodeOneLine<T>(decode: () => Promise<T>): Promise<T> {
  try {
    return await decode();
  } catch (e) {
    throw invalidRequest(String((e as Error)?.message ?? e).split('\n')[0], { cause: e });
  }
}

/** The left–right mirror image of decoded size×size×3 pixels (a new array). */
export function mirrorRgb(img: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * 3;
      out.set(img.subarray(from, from + 3), (y * size + size - 1 - x) * 3);
    }
  return out;
}

/** Stacks decoded images into a float batch [B, size, size, 3] scaled as the encoder expects. */
export function toInputBatch(images: Uint8Array[], size: number, preprocess: Preprocess): tf.Tensor4D {
  const n = images.length;
  const out = new Float32Array(n * size * size * 3);
  const [scale, offset] = preprocess === 'minus1to1' ? [1 / 127.5, -1] : [1 / 255, 0];
  let o = 0;
  for (const img of images) {
    for (let i = 0; i < img.length; i++) out[o++] = img[i] * scale + offset;
  }
  return tf.tensor4d(out, [n, size, size, 3]);
}
