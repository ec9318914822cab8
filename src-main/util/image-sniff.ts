import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';

/**
 * Decides whether a file may be served as an image: its extension must be one the importers accept
 * AND its first bytes must be the signature of one of those formats. A text file, an SVG or a configuration file
 * renamed `.jpg` is refused, so the image routes can never be used to read other files. The
 * decoder of batch captioning and extraction uses the same signatures and pixel limit as import.
 */

/** Largest image accepted anywhere (import, captioning, extraction), in pixels: 200 MP already needs ~600 MB to decode. */
export const MAX_PIXELS = 200_000_000;

type Format = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'avif';

const BY_EXTENSION: Record<string, Format> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.png': 'png',
  '.gif': 'gif',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.avif': 'avif',
};

const CONTENT_TYPE: Record<Format, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  tiff: 'image/tiff',
  avif: 'image/avif',
};

const ascii = (b: Buffer, from: number, to: number) => b.subarray(from, to).toString('latin1');

/** The format named by a file's first bytes, or null. */
export function sniffFormat(head: Buffer): Format | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (/^GIF8[79]a$/.test(ascii(head, 0, 6))) return 'gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  if (ascii(head, 0, 4) === 'II*\0' || ascii(head, 0, 4) === 'MM\0*') return 'tiff';
  if (ascii(head, 4, 8) === 'ftyp' && /^(avi[fs]|mif1|miaf)$/.test(ascii(head, 8, 12))) return 'avif';
  return null;
}

export function readHead(path: string, n = 32): Buffer | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The content type to serve `path` with (from its bytes: a PNG named .jpg imports, so it is served
 * as the PNG it is), or null when the name or the content is not an accepted image.
 */
export function servableImageType(path: string): string | null {
  if (!BY_EXTENSION[extname(path).toLowerCase()]) return null;
  const head = readHead(path);
  const format = head && sniffFormat(head);
  return format ? CONTENT_TYPE[format] : null;
}
