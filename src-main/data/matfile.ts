import { inflateSync } from 'node:zlib';
import { PlumageError } from '../util/errors.ts';

/**
 * A small reader for MATLAB level-5 MAT-files (the format of Oxford-102's imagelabels.mat and
 * setid.mat). Supports what those files use and a little more: numeric and logical matrices
 * (real part, any storage type), char arrays, and zlib-compressed (miCOMPRESSED) variables, in
 * either byte order. Cells, structs, sparse and complex data are reported as unsupported.
 * Spec: MathWorks, "MAT-File Format", chapter 1 (Level 5 MAT-files).
 */

export interface MatVariable {
  name: string;
  /** MATLAB class name: double, single, int8 … uint64, char, logical. */
  className: string;
  /** Dimensions, column-major as MATLAB stores them (a 1×N row vector is [1, N]). */
  dims: number[];
  /** Real data in column-major order (numbers; for char arrays the UTF-16 code units). */
  data: number[];
  /** For char arrays: the text (rows concatenated for a 1×N string). */
  text?: string;
}

/** A file that is not a readable level-5 MAT-file. */
export class MatFileError extends PlumageError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

// Data types (miXXX) of data-element tags.
const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
  UTF32: 18,
} as const;

// Array classes (mxXXX_CLASS) in the array-flags sub-element.
const MX_CLASS: Record<number, string> = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
};

const ELEMENT_SIZE: Record<number, number> = {
  [MI.INT8]: 1,
  [MI.UINT8]: 1,
  [MI.INT16]: 2,
  [MI.UINT16]: 2,
  [MI.INT32]: 4,
  [MI.UINT32]: 4,
  [MI.SINGLE]: 4,
  [MI.DOUBLE]: 8,
  [MI.INT64]: 8,
  [MI.UINT64]: 8,
  [MI.UTF8]: 1,
  [MI.UTF16]: 2,
  [MI.UTF32]: 4,
};

interface Element {
  type: number;
  body: Buffer;
  /** Offset of the next element. */
  next: number;
}

class Reader {
  constructor(
    readonly buf: Buffer,
    readonly le: boolean,
  ) {}

  u16(o: number) {
    return this.le ? this.buf.readUInt16LE(o) : this.buf.readUInt16BE(o);
  }
  u32(o: number) {
    return this.le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o);
  }

  /** Reads the data element at offset o (normal or small-data-element format). */
  element(o: number, end: number, padded = true): Element {
    if (o + 8 > end) throw new MatFileError(`truncated data element tag at byte ${o}`);
    const first = this.u32(o);
    // Small data element: the upper 16 bits of the first word hold the byte count (1–4), data in word 2.
    const small = first >>> 16;
    if (small !== 0) {
      const type = first & 0xffff;
      if (small > 4) throw new MatFileError(`bad small data element at byte ${o}`);
      return { type, body: this.buf.subarray(o + 4, o + 4 + small), next: o + 8 };
    }
    const type = first;
    const n = this.u32(o + 4);
    if (o + 8 + n > end) throw new MatFileError(`data element at byte ${o} runs past the end (${n} bytes)`);
    const body = this.buf.subarray(o + 8, o + 8 + n);
    // Elements are padded to 8 bytes, except compressed ones which MATLAB writes back to back.
    const next = o + 8 + (padded && type !== MI.COMPRESSED ? Math.ceil(n / 8) * 8 : n);
    return { type, body, next };
  }

  numbers(type: number, body: Buffer): number[] {
    const size = ELEMENT_SIZE[type];
    if (!size) throw new MatFileError(`unsupported numeric data type ${type}`);
    if (body.length % size !== 0)
      throw new MatFileError(`data length ${body.length} is not a multiple of ${size}`);
    const out = new Array<number>(body.length / size);
    const le = this.le;
    for (let i = 0, o = 0; i < out.length; i++, o += size) {
      switch (type) {
        case MI.INT8:
          out[i] = body.readInt8(o);
          break;
        case MI.UINT8:
        case MI.UTF8:
          out[i] = body[o];
          break;
        case MI.INT16:
          out[i] = le ? body.readInt16LE(o) : body.readInt16BE(o);
          break;
        case MI.UINT16:
        case MI.UTF16:
          out[i] = le ? body.readUInt16LE(o) : body.readUInt16BE(o);
          break;
        case MI.INT32:
          out[i] = le ? body.readInt32LE(o) : body.readInt32BE(o);
          break;
        case MI.UINT32:
        case MI.UTF32:
          out[i] = le ? body.readUInt32LE(o) : body.readUInt32BE(o);
          break;
        case MI.SINGLE:
          out[i] = le ? body.readFloatLE(o) : body.readFloatBE(o);
          break;
        case MI.DOUBLE:
          out[i] = le ? body.readDoubleLE(o) : body.readDoubleBE(o);
          break;
        case MI.INT64:
          out[i] = Number(le ? body.readBigInt64LE(o) : body.readBigInt64BE(o));
          break;
        case MI.UINT64:
          out[i] = Number(le ? body.readBigUInt64LE(o) : body.readBigUInt64BE(o));
          break;
      }
    }
    return out;
  }
}

/** Parses one miMATRIX body into a variable (or throws for unsupported array kinds). */
function parseMatrix(r: Reader, body: Buffer): MatVariable {
  const sub = new Reader(body, r.le);
  const flags = sub.element(0, body.length);
  if (flags.type !== MI.UINT32 || flags.body.length < 8)
    throw new MatFileError('miMATRIX without array flags');
  const flagWord = sub.u32(flags.body.byteOffset - body.byteOffset);
  const cls = flagWord & 0xff;
  const complex = (flagWord & 0x0800) !== 0;
  const logical = (flagWord & 0x0200) !== 0;
  const className = logical ? 'logical' : (MX_CLASS[cls] ?? `class${cls}`);
  const dimsEl = sub.element(flags.next, body.length);
  const dims = sub.numbers(dimsEl.type, dimsEl.body);
  const nameEl = sub.element(dimsEl.next, body.length);
  const name = nameEl.body.toString('latin1');
  if (cls === 1 || cls === 2 || cls === 3 || cls === 5) {
    throw new MatFileError(`variable '${name}': ${MX_CLASS[cls]} arrays are not supported`);
  }
  if (complex) throw new MatFileError(`variable '${name}': complex data is not supported`);
  const count = dims.reduce((a, b) => a * b, 1);
  let data: number[] = [];
  if (count > 0) {
    const real = sub.element(nameEl.next, body.length);
    data = sub.numbers(real.type, real.body);
    if (data.length !== count)
      throw new MatFileError(`variable '${name}': ${data.length} values for dimensions ${dims.join('×')}`);
  }
  const v: MatVariable = { name, className, dims, data };
  if (className === 'char') {
    // Column-major: for a single row this is the string itself; for several rows, read row by row.
    const [rows, cols] = [dims[0] ?? 0, count / Math.max(dims[0] ?? 1, 1)];
    const lines: string[] = [];
    for (let i = 0; i < rows; i++) {
      let s = '';
      for (let j = 0; j < cols; j++) s += String.fromCharCode(data[i + j * rows]);
      lines.push(s);
    }
    v.text = lines.join('\n');
  }
  return v;
}

/** Reads every supported variable of a MAT-5 file. Throws MatFileError for a file that is not one. */
export function readMat(buf: Buffer): Map<string, MatVariable> {
  if (buf.length < 128) throw new MatFileError('too short for a MAT-file header');
  const text = buf.subarray(0, 116).toString('latin1');
  if (text.startsWith('MATLAB 7.3')) throw new MatFileError('MATLAB v7.3 (HDF5) files are not supported');
  const endian = buf.subarray(126, 128).toString('latin1');
  if (endian !== 'IM' && endian !== 'MI') {
    throw new MatFileError(text.startsWith('MATLAB') ? 'not a level-5 MAT-file' : 'not a MAT-file');
  }
  const r = new Reader(buf, endian === 'IM');
  const vars = new Map<string, MatVariable>();
  let o = 128;
  while (o + 8 <= buf.length) {
    const el = r.element(o, buf.length);
    let type = el.type;
    let body = el.body;
    if (type === MI.COMPRESSED) {
      let inflated: Buffer;
      try {
        inflated = inflateSync(body);
      } catch (e) {
        throw new MatFileError(`corrupt compressed variable at byte ${o}: ${(e as Error).message}`);
      }
      const inner = new Reader(inflated, r.le).element(0, inflated.length, false);
      type = inner.type;
      body = inner.body;
    }
    if (type === MI.MATRIX) {
      const v = parseMatrix(r, body);
      vars.set(v.name, v);
    }
    o = el.next;
  }
  return vars;
}
