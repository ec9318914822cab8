/**
 * Photo files → encoder activations, one chunk at a time: the part that `extract` (feature cache)
 * and `caption` (batch captioning of a folder) share. A file that cannot be decoded does not stop
 * the chunk; it comes back as its one-line reason so the caller can record it.
 */
import type * as tf from '@tensorflow/tfjs';
import type { LoadedEncoder } from '../ml/encoders/load.ts';
import { decodeRgb, toInputBatch } from '../ml/encoders/preprocess.ts';

/** A chunk of files decoded at the encoder's input size: pixels, or the first line of the error. */
export async function decodeChunk(
  paths: readonly string[],
  inputSize: number,
): Promise<(Uint8Array | string)[]> {
  return Promise.all(
    paths.map(async (p) => {
      try {
        return await decodeRgb(p, inputSize);
      } catch (e) {
        return (e as Error).message.split('\n')[0];
      }
    }),
  );
}

/** Indices of the decoded images of a chunk (the others failed). */
export function decodedIndices(decoded: readonly (Uint8Array | string)[]): number[] {
  return decoded.map((d, j) => (typeof d === 'string' ? -1 : j)).filter((j) => j >= 0);
}

/** Runs the encoder on decoded RGB images: A [n, H, W, K], which the caller disposes. */
export function embedImages(enc: LoadedEncoder, images: Uint8Array[]): tf.Tensor4D {
  const x = toInputBatch(images, enc.inputSize, enc.preprocess);
  try {
    return enc.embed(x);
  } finally {
    x.dispose();
  }
}

/**
 * Works through items a chunk at a time (batchSize, default 8), reporting progress after each chunk;
 * a cancel takes effect between chunks, so every finished chunk is kept. Resolves to whether it
 * was cancelled.
 */
export async function forEachChunk<T>(
  items: readonly T[],
  opts: { batchSize?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
  each: (chunk: T[]) => Promise<void>,
): Promise<{ cancelled: boolean }> {
  const bs = Math.max(1, opts.batchSize ?? 8);
  opts.onProgress?.(0, items.length);
  for (let i = 0; i < items.length; i += bs) {
    if (opts.signal?.aborted) return { cancelled: true };
    const chunk = items.slice(i, i + bs);
    await each(chunk);
    opts.onProgress?.(Math.min(items.length, i + chunk.length), items.length);
  }
  return { cancelled: false };
}
