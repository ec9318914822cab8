import { lstat, readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { MAX_PIXELS } from '../../util/image-sniff.ts';
import { readExif, type PhotoExif } from '../exif.ts';

const NO_EXIF: PhotoExif = { takenAt: null, gpsLat: null, gpsLon: null };
import { sha256 } from '../hashing.ts';

/** Formats an import accepts (what sharp decodes in this build). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif']);
/** Image formats people will have but that cannot be decoded here: reported, not silently skipped. */
export const UNSUPPORTED_IMAGE_EXTENSIONS = new Set([
  '.heic',
  '.heif',
  '.psd',
  '.bmp',
  '.raw',
  '.cr2',
  '.cr3',
  '.nef',
  '.arw',
  '.dng',
  '.orf',
  '.rw2',
  '.svg',
  '.ico',
  '.jp2',
]);
const DECODABLE_FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'heif']);

export { MAX_PIXELS };

export interface ProbedImage {
  bytes: number;
  mtimeMs: number;
  contentHash: string;
  width: number;
  height: number;
  exif: PhotoExif;
  /** False when the hash matched a known row and decoding was skipped. */
  decoded: boolean;
  /** The bytes are those of the row already imported: width, height and exif were not read (0 / nulls). */
  known: boolean;
}

export type ProbeResult = { ok: true; image: ProbedImage } | { ok: false; missing?: boolean; reason: string };

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? '';
}

function looksLikeText(b: Uint8Array): boolean {
  const n = Math.min(b.length, 512);
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127)) printable++;
  }
  return n > 0 && printable / n > 0.95;
}

/**
 * Reads one photo and checks that it is a whole, decodable image: file type, size, content hash,
 * dimensions, a cheap full decode (an 8-px resize still reads every scanline, so truncated files
 * fail), EXIF date and GPS. Never throws: every problem becomes a one-line reason.
 * `knownHash` skips the decode for a file already imported with identical bytes.
 */
export async function probeImage(path: string, knownHash?: string): Promise<ProbeResult> {
  try {
    await lstat(path);
  } catch (e) {
    if (code(e) === 'ENOENT') return { ok: false, missing: true, reason: 'file not found' };
    return { ok: false, reason: `cannot access: ${code(e) || (e as Error).message}` };
  }
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if (code(e) === 'ELOOP') return { ok: false, reason: 'symbolic link loop' };
    if (code(e) === 'ENOENT') return { ok: false, reason: 'broken symbolic link (target does not exist)' };
    return { ok: false, reason: `cannot access: ${code(e) || (e as Error).message}` };
  }
  if (st.isDirectory()) return { ok: false, reason: 'is a directory, not an image file' };
  if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
  if (st.size === 0) return { ok: false, reason: 'empty file (0 bytes)' };
  const ext = extname(path).toLowerCase();
  if (UNSUPPORTED_IMAGE_EXTENSIONS.has(ext)) {
    return { ok: false, reason: `unsupported image format ${ext} (convert to JPEG or PNG)` };
  }
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    if (code(e) === 'EACCES' || code(e) === 'EPERM')
      return { ok: false, reason: 'unreadable: permission denied' };
    return { ok: false, reason: `unreadable: ${code(e) || (e as Error).message}` };
  }
  const contentHash = sha256(buf);
  // Same bytes as the row already imported: it was validated then, and nothing derived can differ.
  if (contentHash === knownHash) {
    return {
      ok: true,
      image: {
        bytes: st.size,
        mtimeMs: Math.round(st.mtimeMs),
        contentHash,
        width: 0,
        height: 0,
        exif: NO_EXIF,
        decoded: false,
        known: true,
      },
    };
  }
  let width: number;
  let height: number;
  try {
    const meta = await sharp(buf, { limitInputPixels: false }).metadata();
    if (
      !meta.format ||
      !DECODABLE_FORMATS.has(meta.format) ||
      (meta.format === 'heif' && meta.compression !== 'av1')
    ) {
      return { ok: false, reason: `unsupported image format ${meta.compression ?? meta.format ?? ext}` };
    }
    // Stored pixel dimensions (not EXIF-rotated): bounding boxes and part locations refer to them.
    width = meta.width ?? 0;
    height = meta.height ?? 0;
  } catch (e) {
    if (looksLikeText(buf)) return { ok: false, reason: 'not an image (a text file)' };
    // sharp's own words, without the libvips detail after them: libvips appends its thread's
    // error buffer, which holds the decoder's message on one call and is empty on the next, so
    // reruns would list the same damaged file with different reasons
    return { ok: false, reason: `not a decodable image (${firstLine(e).split(':')[0].trim()})` };
  }
  if (!(width > 0 && height > 0)) return { ok: false, reason: 'image has no dimensions' };
  if (width * height > MAX_PIXELS) {
    return {
      ok: false,
      reason: `image too large: ${width}×${height} px exceeds the ${MAX_PIXELS / 1e6} MP limit`,
    };
  }
  try {
    await sharp(buf, { limitInputPixels: MAX_PIXELS, failOn: 'warning' })
      .resize(8, 8, { fit: 'inside' })
      .raw()
      .toBuffer();
  } catch (e) {
    // libvips reports the same damage either as the warning text or as a generic failOn message,
    // depending on thread timing: one stable reason so reruns list identical problems.
    const msg = firstLine(e);
    if (/pixel limit/i.test(msg)) return { ok: false, reason: `image too large (${msg})` };
    return { ok: false, reason: 'corrupt or truncated image (damaged or missing image data)' };
  }
  const exif = await readExif(buf);
  return {
    ok: true,
    image: {
      bytes: st.size,
      mtimeMs: Math.round(st.mtimeMs),
      contentHash,
      width,
      height,
      exif,
      decoded: true,
      known: false,
    },
  };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e)
    .split('\n')[0]
    .trim();
}
