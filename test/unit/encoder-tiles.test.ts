/**
 * The tiled encoder: a photo at n× the input size cut into n×n tiles, each encoded alone, the maps
 * stitched back in place. With an encoder that is a plain 2×2 average pool, stitching the tiles'
 * maps must give exactly the pool of the whole large image, which checks the tile order.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { LoadedEncoder } from '../../src-main/ml/encoders/load.ts';
import { splitTiledId, tiledId, tileEncoder } from '../../src-main/ml/encoders/tiles.ts';

const SIZE = 4;

/** An "encoder" of SIZE×SIZE×3 photos: the 2×2 average pool, so A is [2, 2, 3]. */
function poolEncoder(): LoadedEncoder & { calls: number[] } {
  const calls: number[] = [];
  return {
    id: 'pool',
    title: 'pool',
    inputSize: SIZE,
    preprocess: 'minus1to1',
    shape: [SIZE / 2, SIZE / 2, 3],
    fingerprint: 'f',
    provenance: 'test',
    origin: 'local',
    path: null,
    warnings: [],
    calls,
    embed: (x) => {
      expect(x.shape.slice(1)).toEqual([SIZE, SIZE, 3]);
      calls.push(x.shape[0]);
      return tf.avgPool(x, 2, 2, 'valid');
    },
    dispose: () => {},
  };
}

describe('tiled encoder', () => {
  it.each([2, 3])('%i tiles a side stitch to the map of the whole photo', async (n) => {
    const base = poolEncoder();
    const enc = tileEncoder(base, n);
    expect(enc.id).toBe(`pool+tiles${n}`);
    expect(enc.inputSize).toBe(n * SIZE);
    expect(enc.shape).toEqual([n * 2, n * 2, 3]);
    const x = tf.randomUniform([2, n * SIZE, n * SIZE, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const a = enc.embed(x);
    expect(a.shape).toEqual([2, n * 2, n * 2, 3]);
    expect(Array.from(await a.data())).toEqual(Array.from(await tf.avgPool(x, 2, 2, 'valid').data()));
    // all tiles of the batch go through the encoder at once
    expect(base.calls).toEqual([2 * n * n]);
    tf.dispose([x, a]);
  });

  it('one tile is the encoder itself; other counts are refused', () => {
    const base = poolEncoder();
    expect(tileEncoder(base, 1)).toBe(base);
    expect(() => tileEncoder(base, 0)).toThrow(/tiles must be a whole number from 1 to 4/);
    expect(() => tileEncoder(base, 1.5)).toThrow(/tiles must be/);
  });

  it('ids name the base encoder and the tiles', () => {
    expect(tiledId('mobilenet_v2_035', 2)).toBe('mobilenet_v2_035+tiles2');
    expect(tiledId('mobilenet_v2_035', 1)).toBe('mobilenet_v2_035');
    expect(splitTiledId('mobilenet_v2_035+tiles2')).toEqual({ base: 'mobilenet_v2_035', tiles: 2 });
    expect(splitTiledId('local-abc')).toEqual({ base: 'local-abc', tiles: 1 });
  });
});
