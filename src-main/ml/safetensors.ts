/**
 * safetensors, read and written by hand (format: ../shared/ref/README.md):
 *   u64 LE header length N · N bytes of UTF-8 JSON (space-padded to a multiple of 8) · raw data,
 *   little-endian row-major, offsets relative to the data start, tiling it with no holes.
 * Tensors are looked up by name (writers order them differently). Reads F32, I32 and I64 (I64 is
 * narrowed to I32 and rejected if out of range); writes F32 and I32.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { invalidRequest } from '../util/errors.ts';

export type SafeDtype = 'F32' | 'I32' | 'I64';
export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** F32 → Float32Array, I32/I64 → Int32Array */
  data: Float32Array | Int32Array;
}
export interface SafeFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, I32: 4, I64: 8 };

/** The header's length N from the file's first bytes (u64 LE), checked against the file's size. */
function headerLength(first: Uint8Array, fileSize: number): number {
  if (first.byteLength < 8) throw invalidRequest('safetensors: file shorter than its 8-byte header length');
  const n = Number(new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > fileSize) throw invalidRequest(`safetensors: header length ${n} exceeds the file`);
  return n;
}

function parseHeader(bytes: Uint8Array): Record<string, unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalidRequest('safetensors: header is not valid JSON');
  }
}

export function parseSafetensors(buf: Uint8Array): SafeFile {
  const n = headerLength(buf, buf.byteLength);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const header = parseHeader(buf.subarray(8, 8 + n));
  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: Record<string, SafeTensor> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const width = BYTES[info.dtype];
    if (!width) throw invalidRequest(`safetensors: tensor ${name} has unsupported dtype ${info.dtype}`);
    const [b, e] = info.data_offsets;
    const count = info.shape.reduce((a, x) => a * x, 1);
    if (e - b !== width * count)
      throw invalidRequest(`safetensors: tensor ${name}: ${e - b} bytes for shape [${info.shape}] ${info.dtype}`);
    if (b < 0 || e > dataLen) throw invalidRequest(`safetensors: tensor ${name} lies outside the data buffer`);
    spans.push([b, e, name]);
    const at = dataStart + b;
    let data: Float32Array | Int32Array;
    if (info.dtype === 'F32') {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = dv.getFloat32(at + 4 * i, true);
    } else if (info.dtype === 'I32') {
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = dv.getInt32(at + 4 * i, true);
    } else {
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const x = dv.getBigInt64(at + 8 * i, true);
        if (x > 2147483647n || x < -2147483648n)
          throw invalidRequest(`safetensors: ${name}[${i}] does not fit in int32`);
        data[i] = Number(x);
      }
    }
    tensors[name] = { dtype: info.dtype as SafeDtype, shape: info.shape, data };
  }
  // the offsets must tile the data buffer exactly (as the official reader requires)
  spans.sort((a, b) => a[0] - b[0]);
  let pos = 0;
  for (const [b, e, name] of spans) {
    if (b !== pos)
      throw invalidRequest(`safetensors: tensor ${name} starts at ${b}, expected ${pos} (hole or overlap)`);
    pos = e;
  }
  if (pos !== dataLen) throw invalidRequest(`safetensors: data buffer has ${dataLen - pos} trailing bytes`);
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafeFile {
  return parseSafetensors(readFileSync(path));
}

/** A file's `__metadata__`, reading only its header: listing checkpoints need not load their tensors. */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  const fd = openSync(path, 'r');
  try {
    const first = Buffer.alloc(8);
    const n = headerLength(first.subarray(0, readSync(fd, first, 0, 8, 0)), fstatSync(fd).size);
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    return (parseHeader(header).__metadata__ ?? {}) as Record<string, string>;
  } finally {
    closeSync(fd);
  }
}

/** Serialises tensors in the given order (F32/I32 only), header padded to a multiple of 8. */
export function serializeSafetensors(
  tensors: Record<string, { dtype?: 'F32' | 'I32'; shape: number[]; data: ArrayLike<number> }>,
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  const entries = Object.entries(tensors).map(([name, t]) => {
    const dtype = t.dtype ?? (t.data instanceof Int32Array ? 'I32' : 'F32');
    const count = t.shape.reduce((a, x) => a * x, 1);
    if (t.data.length !== count)
      throw invalidRequest(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + 4 * count] };
    off += 4 * count;
    return { dtype, t, count };
  });
  const json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - (hb.byteLength % 8)) % 8;
  if (pad) hb = enc.encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + hb.byteLength + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  let at = 8 + hb.byteLength;
  for (const { dtype, t, count } of entries) {
    for (let i = 0; i < count; i++) {
      if (dtype === 'F32') dv.setFloat32(at + 4 * i, t.data[i], true);
      else dv.setInt32(at + 4 * i, t.data[i], true);
    }
    at += 4 * count;
  }
  return out;
}

export function writeSafetensors(
  path: string,
  tensors: Parameters<typeof serializeSafetensors>[0],
  metadata?: Record<string, string>,
): void {
  writeFileSync(path, serializeSafetensors(tensors, metadata));
}
