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
 * Photos per encoder batch when the caller names none: 32 at 224 px (larger batches share each
 * op's dispatch over more photos; 32 gains little beyond), fewer for larger inputs so that a
 * batch holds about the same number of pixels.
 */
export function defaultBatch(inputSize: number): number {
  return Math.max(1, Math.round(32 * (224 / inputSize) ** 2));
}

export interface ChunkOptions {
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Works through files a chunk at a time, handing each chunk over decoded at the encoder's input
 * size, and reports progress after each chunk; a cancel takes effect between chunks, so every
 * finished chunk is kept. While the caller works on one chunk (the encoder runs on this thread),
 * the next chunk is already being decoded by sharp on libuv's thread pool. Resolves to whether
 * it was cancelled.
 */
export async function forEachDecodedChunk<T>(
  items: readonly T[],
  pathOf: (item: T) => string,
  inputSize: number,
  opts: ChunkOptions,
  each: (chunk: T[], decoded: (Uint8Array | string)[]) => Promise<void>,
): Promise<{ cancelled: boolean }> {
  const bs = Math.max(1, opts.batchSize ?? defaultBatch(inputSize));
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += bs) chunks.push(items.slice(i, i + bs));
  // decodeChunk never rejects (a bad file is its reason), so a prefetch left behind by a cancel is harmless
  const decode = (chunk: T[]) => decodeChunk(chunk.map(pathOf), inputSize);
  opts.onProgress?.(0, items.length);
  let next = chunks.length ? decode(chunks[0]) : null;
  let done = 0;
  for (let k = 0; k < chunks.length; k++) {
    if (opts.signal?.aborted) return { cancelled: true };
    const decoded = await next!;
    next = k + 1 < chunks.length ? decode(chunks[k + 1]) : null;
    await each(chunks[k], decoded);
    done += chunks[k].length;
    opts.onProgress?.(done, items.length);
  }
  return { cancelled: false };
}
