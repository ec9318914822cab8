import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

/**
 * Image bytes for the fault corpus and edge-case tests, made here rather than stored: good photos
 * of every accepted kind and bad ones of every kind we have seen in the wild.
 */

/** CRC-32 (PNG chunks), written out so the tests do not depend on zlib.crc32's Node version. */
function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A PNG whose header claims width×height (only a few bytes of data: a bomb if anyone decoded it). */
export function headerOnlyPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1000))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A noisy picture (so truncation loses real scanlines), `seed` makes the bytes distinct. */
function noise(w: number, h: number, channels: 3 | 4, seed: number): Sharp {
  const raw = Buffer.alloc(w * h * channels);
  for (let i = 0; i < raw.length; i++) raw[i] = ((i + seed * 7919) * 2654435761) >>> 24;
  return sharp(raw, { raw: { width: w, height: h, channels } });
}

export const goodJpeg = (seed: number, w = 40, h = 30) => noise(w, h, 3, seed).jpeg({ quality: 85 }).toBuffer();
export const goodPng = (seed: number) => noise(24, 24, 3, seed).png().toBuffer();
export const alphaPng = (seed: number) => noise(24, 24, 4, seed).png().toBuffer();
export const sixteenBitPng = (seed: number) => noise(24, 24, 3, seed).toColourspace('rgb16').png().toBuffer();
export const cmykJpeg = (seed: number) => noise(24, 24, 3, seed).toColourspace('cmyk').jpeg().toBuffer();
export const goodWebp = (seed: number) => noise(24, 24, 3, seed).webp().toBuffer();
export const goodTiff = (seed: number) => noise(24, 24, 3, seed).tiff().toBuffer();
export const greyPng = (seed: number) => noise(24, 24, 3, seed).greyscale().png().toBuffer();

/** A two-frame animated GIF. */
export async function animatedGif(seed: number): Promise<Buffer> {
  const frame = await noise(16, 32, 3, seed).raw().toBuffer();
  return sharp(frame, { raw: { width: 16, height: 32, channels: 3, pageHeight: 16 } as never })
    .gif({ loop: 0 })
    .toBuffer();
}

export async function truncated(seed: number): Promise<Buffer> {
  const b = await goodJpeg(seed, 96, 96);
  return b.subarray(0, Math.floor(b.length / 2));
}

export const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
