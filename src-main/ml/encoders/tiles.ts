/**
 * A larger input for a fixed-size encoder: the photo is decoded at n× the encoder's input size,
 * cut into n×n tiles, each tile goes through the encoder as its own image, and the n×n feature
 * maps are stitched back in place into one map [n·H, n·W, K]. The model needs nothing else: its
 * heads pool over any H×W. The tiled encoder is a different feature space, so it has its own id
 * (`<base id>+tiles<n>`), and with it its own feature cache and a run that remembers it.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedEncoder } from './load.ts';
import { invalidRequest } from '../../util/errors.ts';

export const MAX_TILES = 4;
const TILED_ID = /^(.+)\+tiles(\d+)$/;

/** The id of `id` tiled n×n (n = 1: the encoder itself). */
export function tiledId(id: string, n: number): string {
  return n === 1 ? id : `${id}+tiles${n}`;
}

/** An encoder id → the base encoder's id and the tiles per side (1 for a plain encoder). */
export function splitTiledId(id: string): { base: string; tiles: number } {
  const m = TILED_ID.exec(id);
  return m ? { base: m[1], tiles: Number(m[2]) } : { base: id, tiles: 1 };
}

export function checkTiles(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_TILES) throw invalidRequest(`tiles must be a whole number from 1 to ${MAX_TILES}, got ${n}`);
}

/** `enc` seeing n×n tiles of an n× larger photo (n = 1: `enc` itself). */
export function tileEncoder(enc: LoadedEncoder, n: number): LoadedEncoder {
  checkTiles(n);
  if (n === 1) return enc;
  const s = enc.inputSize;
  const [h, w, k] = enc.shape;
  return {
    ...enc,
    id: tiledId(enc.id, n),
    title: `${enc.title}, ${n}×${n} tiles of a ${n * s}-px photo`,
    inputSize: n * s,
    shape: [n * h, n * w, k],
    embed: (x) =>
      tf.tidy(() => {
        const b = x.shape[0];
        const cells: [number, number][] = [];
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) cells.push([i, j]);
        // every tile of every photo in one encoder batch: tile t of photo p at row t·b + p
        const tiles = tf.concat(cells.map(([i, j]) => tf.slice(x, [0, i * s, j * s, 0], [b, s, s, 3])));
        const maps = enc.embed(tiles as tf.Tensor4D);
        const part = (t: number) => tf.slice(maps, [t * b, 0, 0, 0], [b, h, w, k]);
        const rows = Array.from({ length: n }, (_, i) => tf.concat(Array.from({ length: n }, (_, j) => part(i * n + j)), 2));
        return tf.concat(rows, 1) as tf.Tensor4D;
      }),
  };
}
