/**
 * Curator-painted masks (docs/design.md: The model, Data): where the models should look. Stored per image in the
 * `masks` table as an 8-bit grey PNG (255 = should matter), every save or clear journaled as one
 * undoable edit (kind 'mask', see edits.ts). For training and the pointing-game experiment the
 * mask is read at the CAM's resolution: `maskGrid` (area average of the painted mask) and
 * `partMaskGrid` (a mask generated from the part annotations).
 */
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { InvalidEditError, NotFoundError, recordEdit, type MaskState } from './edits.ts';
import { tx, type Db } from './store.ts';
import { invalidRequest } from '../util/errors.ts';

export const MASK_MAX_SIDE = 4096;
export const MASK_MAX_BYTES = 2 * 1024 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface StoredMask {
  width: number;
  height: number;
  /** 8-bit grey PNG, base64 */
  png: string;
}

function assertImage(db: Db, imageId: number) {
  if (!db.prepare('SELECT 1 FROM images WHERE id = ?').get(imageId))
    throw new NotFoundError(`no image ${imageId}`);
}

function currentState(db: Db, imageId: number): MaskState {
  const r = db.prepare('SELECT width, height, png FROM masks WHERE image_id = ?').get(imageId) as
    { width: number; height: number; png: Buffer } | undefined;
  return r ? { width: r.width, height: r.height, png: r.png.toString('base64') } : null;
}

export function getMask(db: Db, imageId: number): StoredMask | null {
  assertImage(db, imageId);
  return currentState(db, imageId);
}

/**
 * Checks an uploaded mask PNG and converts it to the stored form: grey PNGs keep their values,
 * images with an alpha channel (a brush layer exported from a canvas) use the alpha as the mask,
 * other colour PNGs are converted to grey. Throws InvalidEditError on anything else.
 */
export async function normaliseMaskPng(png: Buffer, width: number, height: number): Promise<Buffer> {
  if (png.length > MASK_MAX_BYTES)
    throw new InvalidEditError(`mask PNG is ${png.length} bytes, at most ${MASK_MAX_BYTES}`);
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE))
    throw new InvalidEditError('mask is not a PNG (bad signature)');
  if (width > MASK_MAX_SIDE || height > MASK_MAX_SIDE)
    throw new InvalidEditError(`mask is larger than ${MASK_MAX_SIDE}×${MASK_MAX_SIDE}`);
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(png).metadata();
  } catch {
    throw new InvalidEditError('mask PNG cannot be decoded');
  }
  if (meta.format !== 'png') throw new InvalidEditError('mask is not a PNG');
  if (meta.width !== width || meta.height !== height)
    throw new InvalidEditError(
      `mask PNG is ${meta.width}×${meta.height}, the request says ${width}×${height}`,
    );
  try {
    const img = sharp(png);
    const channel = meta.hasAlpha ? img.extractChannel('alpha') : img.greyscale().extractChannel(0);
    const raw = await channel.raw().toBuffer();
    if (raw.length !== width * height) throw invalidRequest('unexpected channel size');
    return await sharp(raw, { raw: { width, height, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
  } catch {
    throw new InvalidEditError('mask PNG cannot be decoded');
  }
}

/** Saves (replaces) the mask of an image as one undoable edit. */
export async function saveMask(
  db: Db,
  imageId: number,
  width: number,
  height: number,
  png: Buffer,
): Promise<StoredMask> {
  assertImage(db, imageId);
  const stored = await normaliseMaskPng(png, width, height);
  return tx(db, () => {
    const before = currentState(db, imageId);
    const after: StoredMask = { width, height, png: stored.toString('base64') };
    db.prepare(
      `INSERT OR REPLACE INTO masks(image_id, width, height, png, updated_at)
       VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))`,
    ).run(imageId, width, height, stored);
    recordEdit(db, 'mask', imageId, before, after);
    return after;
  });
}

/** Removes the mask of an image (undoable). Returns false when there was none. */
export function clearMask(db: Db, imageId: number): boolean {
  assertImage(db, imageId);
  return tx(db, () => {
    const before = currentState(db, imageId);
    if (!before) return false;
    db.prepare('DELETE FROM masks WHERE image_id = ?').run(imageId);
    recordEdit(db, 'mask', imageId, before, null);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Reading masks at the CAM's resolution

/**
 * Decodes the stored form (8-bit grey, non-interlaced PNG, as written by normaliseMaskPng)
 * synchronously, so a training loop can read masks without awaiting sharp. Values 0..255.
 */
export function decodeGreyPng(png: Buffer): { width: number; height: number; data: Uint8Array } {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw invalidRequest('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (off + 8 <= png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const body = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      const colour = body[9];
      const interlace = body[12];
      if (depth !== 8 || colour !== 0 || interlace !== 0)
        throw invalidRequest(`mask PNG is not 8-bit grey non-interlaced (${depth}/${colour}/${interlace})`);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const data = new Uint8Array(width * height);
  const stride = width + 1;
  if (raw.length < stride * height) throw invalidRequest('truncated mask PNG');
  for (let y = 0; y < height; y++) {
    const filter = raw[y * stride];
    const row = y * width;
    const prev = row - width;
    for (let x = 0; x < width; x++) {
      const v = raw[y * stride + 1 + x];
      const a = x > 0 ? data[row + x - 1] : 0;
      const b = y > 0 ? data[prev + x] : 0;
      const c = x > 0 && y > 0 ? data[prev + x - 1] : 0;
      let p: number;
      switch (filter) {
        case 0:
          p = 0;
          break;
        case 1:
          p = a;
          break;
        case 2:
          p = b;
          break;
        case 3:
          p = (a + b) >> 1;
          break;
        case 4: {
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw invalidRequest(`bad PNG filter ${filter}`);
      }
      data[row + x] = (v + p) & 0xff;
    }
  }
  return { width, height, data };
}

/** For each of n output cells over `size` input pixels: the (pixel, overlap weight) pairs. */
function overlaps(size: number, n: number): { px: number; w: number }[][] {
  const scale = size / n;
  return Array.from({ length: n }, (_, i) => {
    const lo = i * scale;
    const hi = (i + 1) * scale;
    const out: { px: number; w: number }[] = [];
    for (let p = Math.floor(lo); p < Math.min(size, Math.ceil(hi)); p++) {
      const w = Math.min(hi, p + 1) - Math.max(lo, p);
      if (w > 0) out.push({ px: p, w: w / scale });
    }
    return out;
  });
}

/** Area-average downsample of an 8-bit map to H×W, values scaled to [0,1] (row-major). */
export function areaAverage(
  data: Uint8Array,
  width: number,
  height: number,
  H: number,
  W: number,
): Float32Array {
  const cols = overlaps(width, W);
  const rows = overlaps(height, H);
  // Columns first: [height, W], then rows: [H, W].
  const tmp = new Float32Array(height * W);
  for (let y = 0; y < height; y++)
    for (let j = 0; j < W; j++) {
      let s = 0;
      for (const { px, w } of cols[j]) s += data[y * width + px] * w;
      tmp[y * W + j] = s;
    }
  const out = new Float32Array(H * W);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      let s = 0;
      for (const { px, w } of rows[i]) s += tmp[px * W + j] * w;
      out[i * W + j] = s / 255;
    }
  return out;
}

/** The painted mask of an image at the CAM grid (H×W, [0,1]), or null when it has none. */
export function maskGrid(db: Db, imageId: number, H: number, W: number): Float32Array | null {
  const r = db.prepare('SELECT png FROM masks WHERE image_id = ?').get(imageId) as
    { png: Buffer } | undefined;
  if (!r) return null;
  const m = decodeGreyPng(r.png);
  return areaAverage(m.data, m.width, m.height, H, W);
}

/** Width of the Gaussian blob around each part, as a fraction of the image's longer side. */
export const PART_SIGMA = 0.08;

/**
 * A mask generated from an image's visible part locations (for the pointing-game experiment and
 * for collections with part annotations but no painted masks): max over parts of a Gaussian
 * exp(−d²/2σ²) with σ = PART_SIGMA × the longer image side, evaluated at cell centres. Null when
 * the image has no visible part.
 */
export function partMaskGrid(
  db: Db,
  imageId: number,
  H: number,
  W: number,
  sigma = PART_SIGMA,
): Float32Array | null {
  const im = db.prepare('SELECT width, height FROM images WHERE id = ?').get(imageId) as
    { width: number; height: number } | undefined;
  if (!im) return null;
  const parts = db
    .prepare('SELECT x, y FROM part_locations WHERE image_id = ? AND visible = 1')
    .all(imageId) as { x: number; y: number }[];
  if (!parts.length) return null;
  const s = sigma * Math.max(im.width, im.height);
  const out = new Float32Array(H * W);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      const cx = ((j + 0.5) * im.width) / W;
      const cy = ((i + 0.5) * im.height) / H;
      let best = 0;
      for (const p of parts) {
        const d2 = (p.x - cx) ** 2 + (p.y - cy) ** 2;
        best = Math.max(best, Math.exp(-d2 / (2 * s * s)));
      }
      out[i * W + j] = best;
    }
  return out;
}
