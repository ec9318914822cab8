/**
 * The feature cache (docs/design.md: Encoders and the feature cache): the encoder's last conv map A [H, W, K] of every image, stored
 * once per (content hash, encoder id) as float16 so training never runs the CNN again.
 *
 * Layout: <ws.features>/<encoder id>/<hash[0:2]>/<hash>.f16, one small file per image (a 7×7×1280
 * map is 125 KB), written atomically (tmp + rename) so an interrupted extract never leaves a
 * half file. A 16-byte header ('PLF1', H, W, K as little-endian uint32) precedes the data.
 * Training reads any batch of images by hash without loading the rest. The map of an image's
 * mirror image (left–right), extracted only when a run trains with mirrored photos, is stored
 * beside it under mirroredKey(hash).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ioError } from '../util/errors.ts';

const MAGIC = 0x31464c50; // 'PLF1' little-endian

// ---- float16 <-> float32 -------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half, round to nearest even; overflow → ±Inf, NaN kept. */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  // A mantissa carry on rounding overflows into the exponent, which is the correct result
  // (up to 0x7c00 = Inf).
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

let table: Float32Array | null = null;
/** All 65536 half values as float32: decoding is a table lookup. */
function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    table[h] =
      e === 0 ? s * m * 2 ** -24 : e === 0x1f ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
}

export function encodeHalf(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toHalf(src[i]);
  return out;
}

export function decodeHalf(
  src: Uint16Array,
  out: Float32Array = new Float32Array(src.length),
  offset = 0,
): Float32Array {
  const t = halfTable();
  for (let i = 0; i < src.length; i++) out[offset + i] = t[src[i]];
  return out;
}

/** The cache key of the map of an image's mirror image. */
export const mirroredKey = (hash: string) => `${hash}.mirrored`;

// ---- the cache -----------------------------------------------------------------------------

export type MapShape = [number, number, number];

export class FeatureCache {
  constructor(
    readonly root: string,
    readonly encoderId: string,
  ) {}

  private dir(): string {
    return join(this.root, this.encoderId.replace(/[^A-Za-z0-9_.-]/g, '_'));
  }

  pathOf(hash: string): string {
    return join(this.dir(), hash.slice(0, 2), `${hash}.f16`);
  }

  has(hash: string): boolean {
    return existsSync(this.pathOf(hash));
  }

  /** Stores one map [H, W, K] (row-major, channels last) as float16. */
  put(hash: string, map: Float32Array, shape: MapShape): void {
    const [h, w, k] = shape;
    if (map.length !== h * w * k)
      throw new Error(`feature map has ${map.length} values, expected ${h}x${w}x${k}`);
    const half = encodeHalf(map);
    const buf = Buffer.allocUnsafe(16 + half.byteLength);
    buf.writeUInt32LE(MAGIC, 0);
    buf.writeUInt32LE(h, 4);
    buf.writeUInt32LE(w, 8);
    buf.writeUInt32LE(k, 12);
    Buffer.from(half.buffer, half.byteOffset, half.byteLength).copy(buf, 16);
    const p = this.pathOf(hash);
    mkdirSync(join(p, '..'), { recursive: true });
    const tmp = `${p}.${process.pid}.tmp`;
    writeFileSync(tmp, buf);
    renameSync(tmp, p);
  }

  /** Reads one map, decoded into `out` at `offset` when given. */
  get(hash: string, out?: Float32Array, offset = 0): { data: Float32Array; shape: MapShape } {
    const buf = readFileSync(this.pathOf(hash));
    if (buf.length < 16 || buf.readUInt32LE(0) !== MAGIC)
      throw ioError(`damaged feature file ${this.pathOf(hash)}`);
    const shape: MapShape = [buf.readUInt32LE(4), buf.readUInt32LE(8), buf.readUInt32LE(12)];
    const n = shape[0] * shape[1] * shape[2];
    if (buf.length !== 16 + 2 * n) throw ioError(`truncated feature file ${this.pathOf(hash)}`);
    // Copy to an aligned buffer: the Buffer pool gives no 2-byte alignment guarantee.
    const half = new Uint16Array(n);
    new Uint8Array(half.buffer).set(buf.subarray(16));
    const data = decodeHalf(half, out ?? new Float32Array(n), out ? offset : 0);
    return { data, shape };
  }

  /** A batch [B, H, W, K] as one flat Float32Array, read file by file. */
  getBatch(hashes: string[]): { data: Float32Array; shape: [number, ...MapShape] } {
    if (hashes.length === 0) throw new Error('empty batch');
    const first = this.get(hashes[0]);
    const n = first.data.length;
    const data = new Float32Array(n * hashes.length);
    data.set(first.data, 0);
    for (let i = 1; i < hashes.length; i++) {
      const { shape } = this.get(hashes[i], data, i * n);
      if (shape[0] * shape[1] * shape[2] !== n)
        throw new Error(`feature map of ${hashes[i]} has a different shape`);
    }
    return { data, shape: [hashes.length, ...first.shape] };
  }

  /** The pooled vector v (mean over H×W, K-d) of one image. */
  pooled(hash: string): Float32Array {
    const { data, shape } = this.get(hash);
    const [h, w, k] = shape;
    const v = new Float32Array(k);
    for (let p = 0; p < h * w; p++) for (let c = 0; c < k; c++) v[c] += data[p * k + c];
    for (let c = 0; c < k; c++) v[c] /= h * w;
    return v;
  }
}
