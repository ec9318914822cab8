import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { readExif } from '../../src-main/data/exif.ts';
import { sha256, sha256File } from '../../src-main/data/hashing.ts';
import { cleanCaption, metadataLines, parseCaptionFile } from '../../src-main/data/importers/text.ts';
import { ensureThumbnail, thumbnailPath } from '../../src-main/data/thumbnails.ts';
import { workspace } from '../../src-main/data/workspace.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'plumage-media-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('hashing', () => {
  it('sha256 of bytes and of a file agree with the known vector', async () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const f = join(tmp(), 'abc.txt');
    writeFileSync(f, 'abc');
    expect(await sha256File(f)).toBe(sha256('abc'));
  });
});

describe('exif', () => {
  it('reads DateTimeOriginal as wall-clock time and GPS as signed degrees', async () => {
    const b = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#3a6' } })
      .jpeg()
      .withExif({
        IFD2: { DateTimeOriginal: '2024:05:17 08:30:00' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '51/1 30/1 0/1',
          GPSLongitudeRef: 'W',
          GPSLongitude: '0/1 7/1 30/1',
        },
      })
      .toBuffer();
    expect(await readExif(b)).toEqual({ takenAt: '2024-05-17T08:30:00', gpsLat: 51.5, gpsLon: -0.125 });
  });

  it('returns nulls for photos without EXIF and for garbage', async () => {
    const plain = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const none = { takenAt: null, gpsLat: null, gpsLon: null };
    expect(await readExif(plain)).toEqual(none);
    expect(await readExif(Buffer.from('not an image at all'))).toEqual(none);
  });
});

describe('thumbnails', () => {
  it('writes a JPEG with longest side 256 once, cached by content hash', async () => {
    const ws = workspace(tmp());
    const src = join(tmp(), 'big.png');
    await sharp({ create: { width: 600, height: 300, channels: 3, background: '#f00' } })
      .png()
      .toFile(src);
    const out = await ensureThumbnail(ws, src, 'abcdef0123');
    expect(out).toBe(thumbnailPath(ws, 'abcdef0123'));
    const m = await sharp(out).metadata();
    expect([m.format, m.width, m.height]).toEqual(['jpeg', 256, 128]);
    const t = statSync(out).mtimeMs;
    rmSync(src); // the cache is used: the source is not read again
    expect(await ensureThumbnail(ws, src, 'abcdef0123')).toBe(out);
    expect(statSync(out).mtimeMs).toBe(t);
    await expect(ensureThumbnail(ws, src, 'ffff')).rejects.toThrow();
    expect(existsSync(thumbnailPath(ws, 'ffff'))).toBe(false);
  });

  it('does not enlarge small images', async () => {
    const ws = workspace(tmp());
    const src = join(tmp(), 'small.jpg');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#0f0' } })
      .jpeg()
      .toFile(src);
    const m = await sharp(await ensureThumbnail(ws, src, '00aa')).metadata();
    expect([m.width, m.height]).toEqual([40, 30]);
  });
});

describe('caption text', () => {
  it('cleans U+FFFD, control characters and whitespace', () => {
    expect(cleanCaption('  this\ufffd\ufffdbird\u0000 has\t a  red\u200b crown \r')).toBe(
      'thisbird has a red crown',
    );
  });

  it('parses raw and tokenized caption files, skipping empty lines', () => {
    const r = parseCaptionFile(
      Buffer.from('\ufeffA bird, small.\r\n\r\n  \nthe bird is red\n\ufffd\ufffd\n'),
    );
    expect(r).toEqual({ ok: true, captions: ['A bird, small.', 'the bird is red'], refused: [] });
    expect(parseCaptionFile(Buffer.alloc(0))).toEqual({ ok: true, captions: [], refused: [] });
  });

  it('rejects binary junk', () => {
    expect(parseCaptionFile(Buffer.from([0x61, 0x00, 0x62]))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/binary/),
    });
    const junk = Buffer.alloc(200);
    for (let i = 0; i < junk.length; i++) junk[i] = 0x80 + (i % 100);
    expect(parseCaptionFile(junk)).toMatchObject({ ok: false, reason: expect.stringMatching(/not text/) });
  });

  it('numbers metadata lines, skipping blanks and comments', () => {
    expect(metadataLines('# c\n1 a b\n\n2  x\n')).toEqual([
      { line: 2, fields: ['1', 'a', 'b'], raw: '1 a b' },
      { line: 4, fields: ['2', 'x'], raw: '2  x' },
    ]);
  });
});
