/**
 * Tiny datasets written by the tests themselves (sharp-generated JPEGs), in the CUB-200-2011 and
 * plain-folder layouts. Not a test file: imported by import-*.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A small JPEG whose colour depends on `seed`, so every file has distinct bytes. */
export function jpeg(seed: number, width = 32, height = 24): Promise<Buffer> {
  const r = (seed * 53) % 256;
  const g = (seed * 97 + 40) % 256;
  const b = (seed * 29 + 90) % 256;
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

export function write(path: string, data: string | Uint8Array) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

const temps: string[] = [];
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `plumage-${prefix}-`));
  temps.push(d);
  return d;
}
export function cleanTemps() {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface CubFixture {
  /** The folder holding CUB_200_2011/ and text_c10/ (the layout `plumage synth` writes). */
  out: string;
  root: string;
  classes: string[];
  /** images.txt entries: id, path relative to images/, class index (0-based). */
  images: { id: number; rel: string; cls: number }[];
}

/** A CUB-layout dataset: `species` classes × `perSpecies` JPEGs, 10 captions each, parts and boxes. */
export async function makeCub(
  species = 3,
  perSpecies = 4,
  extra?: { captions?: boolean },
): Promise<CubFixture> {
  const out = tempDir('cub');
  const root = join(out, 'CUB_200_2011');
  const classes = Array.from(
    { length: species },
    (_, i) => `${String(i + 1).padStart(3, '0')}.Species_${String.fromCharCode(65 + i)}`,
  );
  const images: CubFixture['images'] = [];
  let id = 1;
  for (let c = 0; c < species; c++) {
    for (let k = 0; k < perSpecies; k++) {
      const rel = `${classes[c]}/Species_${String.fromCharCode(65 + c)}_${String(k + 1).padStart(4, '0')}.jpg`;
      images.push({ id, rel, cls: c });
      write(join(root, 'images', rel), await jpeg(id));
      if (extra?.captions !== false) {
        const caps = Array.from(
          { length: 10 },
          (_, j) => `bird ${id} of species ${String.fromCharCode(65 + c)} caption ${j + 1}`,
        );
        write(join(out, 'text_c10', rel.replace(/\.jpg$/, '.txt')), caps.join('\n') + '\n');
      }
      id++;
    }
  }
  write(join(root, 'classes.txt'), classes.map((n, i) => `${i + 1} ${n}`).join('\n') + '\n');
  write(join(root, 'images.txt'), images.map((m) => `${m.id} ${m.rel}`).join('\n') + '\n');
  write(join(root, 'image_class_labels.txt'), images.map((m) => `${m.id} ${m.cls + 1}`).join('\n') + '\n');
  write(join(root, 'train_test_split.txt'), images.map((m) => `${m.id} ${m.id % 2}`).join('\n') + '\n');
  write(join(root, 'bounding_boxes.txt'), images.map((m) => `${m.id} 1.0 2.0 20.0 15.0`).join('\n') + '\n');
  write(join(root, 'parts', 'parts.txt'), '1 crown\n2 left eye\n3 tail\n');
  write(
    join(root, 'parts', 'part_locs.txt'),
    images
      .flatMap((m) => [`${m.id} 1 10.0 5.0 1`, `${m.id} 2 12.0 6.0 1`, `${m.id} 3 0.0 0.0 0`])
      .join('\n') + '\n',
  );
  return { out, root, classes, images };
}

// ---------------------------------------------------------------------------------------------
// A MAT-5 writer, byte by byte per the MathWorks "MAT-File Format" spec, to test the reader and the
// Oxford-102 importer without the original imagelabels.mat / setid.mat.

export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  MATRIX: 14,
  COMPRESSED: 15,
};
export const MX = { CELL: 1, CHAR: 4, DOUBLE: 6, UINT8: 9 };

export class MatWriter {
  constructor(readonly littleEndian = true) {}

  header(text = 'MATLAB 5.0 MAT-file, written by the Plumage tests'): Buffer {
    const b = Buffer.alloc(128, 0x20);
    b.write(text, 0, 'latin1');
    b.fill(0, 116, 124); // subsystem data offset
    if (this.littleEndian) {
      b.writeUInt16LE(0x0100, 124);
      b.write('IM', 126, 'latin1');
    } else {
      b.writeUInt16BE(0x0100, 124);
      b.write('MI', 126, 'latin1');
    }
    return b;
  }

  u32(n: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.littleEndian) b.writeUInt32LE(n);
    else b.writeUInt32BE(n);
    return b;
  }

  /** A data element: 8-byte tag + data padded to a multiple of 8 (or the small format for ≤ 4 bytes). */
  element(type: number, data: Buffer, small = false): Buffer {
    if (small && data.length <= 4) {
      const word = this.u32((data.length << 16) | type);
      return Buffer.concat([word, data, Buffer.alloc(4 - data.length)]);
    }
    const pad = (8 - (data.length % 8)) % 8;
    return Buffer.concat([this.u32(type), this.u32(data.length), data, Buffer.alloc(pad)]);
  }

  values(type: number, xs: number[]): Buffer {
    const size = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8 }[type as 1]!;
    const b = Buffer.alloc(xs.length * size);
    const le = this.littleEndian;
    const writers: Record<number, (x: number, o: number) => number> = {
      [MI.INT8]: (x, o) => b.writeInt8(x, o),
      [MI.UINT8]: (x, o) => b.writeUInt8(x, o),
      [MI.INT16]: (x, o) => (le ? b.writeInt16LE(x, o) : b.writeInt16BE(x, o)),
      [MI.UINT16]: (x, o) => (le ? b.writeUInt16LE(x, o) : b.writeUInt16BE(x, o)),
      [MI.INT32]: (x, o) => (le ? b.writeInt32LE(x, o) : b.writeInt32BE(x, o)),
      [MI.UINT32]: (x, o) => (le ? b.writeUInt32LE(x, o) : b.writeUInt32BE(x, o)),
      [MI.SINGLE]: (x, o) => (le ? b.writeFloatLE(x, o) : b.writeFloatBE(x, o)),
      [MI.DOUBLE]: (x, o) => (le ? b.writeDoubleLE(x, o) : b.writeDoubleBE(x, o)),
    };
    xs.forEach((x, i) => writers[type](x, i * size));
    return b;
  }

  /** miMATRIX: array flags, dimensions, name, real part (stored as `dataType`). */
  matrix(
    name: string,
    mxClass: number,
    dims: number[],
    dataType: number,
    data: number[],
    smallName = false,
  ): Buffer {
    const flags = this.element(MI.UINT32, Buffer.concat([this.u32(mxClass), this.u32(0)]));
    const dimsEl = this.element(MI.INT32, this.values(MI.INT32, dims));
    const nameEl = this.element(MI.INT8, Buffer.from(name, 'latin1'), smallName);
    const real = this.element(dataType, this.values(dataType, data));
    return this.element(MI.MATRIX, Buffer.concat([flags, dimsEl, nameEl, real]));
  }

  /** miCOMPRESSED: a zlib stream of one whole element (not padded). */
  compressed(element: Buffer): Buffer {
    const z = deflateSync(element);
    return Buffer.concat([this.u32(MI.COMPRESSED), this.u32(z.length), z]);
  }

  file(...elements: Buffer[]): Buffer {
    return Buffer.concat([this.header(), ...elements]);
  }
}
