import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/ml/backend.ts';
import {
  type Variant,
  initParams,
  paramShapes,
  paramsFromTensors,
  paramsToArrays,
} from '../../src-main/ml/model.ts';
import { parseSafetensors, readSafetensorsMetadata, serializeSafetensors } from '../../src-main/ml/safetensors.ts';
import { sharedPath } from '../helpers/shared.ts';

const ref = sharedPath('ref/interop_public');

/** Hand-build a file from a header object and a data buffer (for malformed cases). */
function build(header: object, data: Uint8Array): Uint8Array {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

describe('safetensors', () => {
  it('reads the metadata from the header alone, and refuses a header longer than the file or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plumage-st-'));
    try {
      const bytes = serializeSafetensors({ w: { shape: [2], data: [1, 2] } }, { format: 'pt', resume_state: '{"epoch":3}' });
      const path = join(dir, 'a.safetensors');
      writeFileSync(path, bytes);
      expect(readSafetensorsMetadata(path)).toEqual(parseSafetensors(bytes).metadata);
      expect(readSafetensorsMetadata(path).resume_state).toBe('{"epoch":3}');
      writeFileSync(path, bytes.subarray(0, 12));
      expect(() => readSafetensorsMetadata(path)).toThrow(/header length \d+ exceeds the file/);
      const notJson = Buffer.alloc(16, 0x20);
      notJson.writeBigUInt64LE(8n, 0);
      notJson.write('{not json', 8);
      writeFileSync(path, notJson);
      expect(() => readSafetensorsMetadata(path)).toThrow(/header is not valid JSON/);
      writeFileSync(path, Buffer.alloc(3));
      expect(() => readSafetensorsMetadata(path)).toThrow(/shorter than its 8-byte header length/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips F32 and I32 tensors with metadata, header padded to 8 bytes', () => {
    const a = Float32Array.from([1.5, -2, 3.25, 0, 1e-7, -1e30]);
    const b = Int32Array.from([0, 1, -5, 2147483647]);
    const buf = serializeSafetensors(
      { a: { shape: [2, 3], data: a }, b: { dtype: 'I32', shape: [4], data: b } },
      { format: 'pt', note: 'x' },
    );
    const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const f = parseSafetensors(buf);
    expect(f.metadata).toEqual({ format: 'pt', note: 'x' });
    expect(f.tensors.a.shape).toEqual([2, 3]);
    expect(Array.from(f.tensors.a.data)).toEqual(Array.from(a));
    expect(f.tensors.b.dtype).toBe('I32');
    expect(Array.from(f.tensors.b.data)).toEqual(Array.from(b));
  });

  it('reads the PyTorch reference files by name with the contract shapes', () => {
    const w = parseSafetensors(readFileSync(resolve(ref, 'weights.safetensors')));
    const cfg = JSON.parse(readFileSync(resolve(ref, 'expected.json'), 'utf8')).config;
    for (const [name, shape] of Object.entries(cfg.param_shapes))
      expect(w.tensors[name].shape, name).toEqual(shape);
    const i = parseSafetensors(readFileSync(resolve(ref, 'inputs.safetensors')));
    expect(i.tensors.features.shape).toEqual([cfg.B, cfg.K, cfg.H, cfg.W]);
    expect(i.tensors.captions.data[0]).toBe(1); // BOS
  });

  it('does not depend on tensor order and reads I64', () => {
    const data = new Uint8Array(8 + 4);
    const dv = new DataView(data.buffer);
    dv.setFloat32(0, 2.5, true); // "x" stored first
    dv.setBigInt64(4, -7n, true); // "y" (I64) right after it
    const f = parseSafetensors(
      build(
        {
          y: { dtype: 'I64', shape: [1], data_offsets: [4, 12] },
          x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        },
        data,
      ),
    );
    expect(f.tensors.x.data[0]).toBe(2.5);
    expect(f.tensors.y.data[0]).toBe(-7);
  });

  it('rejects holes, overlaps, wrong sizes, trailing bytes and unknown dtypes', () => {
    const d8 = new Uint8Array(8);
    expect(() =>
      parseSafetensors(build({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, d8)),
    ).toThrow(/hole|starts/);
    expect(() =>
      parseSafetensors(build({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, d8)),
    ).toThrow(/bytes/);
    expect(() =>
      parseSafetensors(build({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, d8)),
    ).toThrow(/trailing/);
    expect(() =>
      parseSafetensors(
        build(
          {
            x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          },
          d8,
        ),
      ),
    ).toThrow(/overlap|starts/);
    expect(() =>
      parseSafetensors(build({ x: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, d8)),
    ).toThrow(/dtype/);
    expect(() => parseSafetensors(new Uint8Array(4))).toThrow();
  });

  it.each(['cnn', 'lrcn', 'medi'] as Variant[])(
    'exports and re-imports %s parameters (variant inferred, medi → cam)',
    async (variant) => {
      await initBackend();
      const dims = { K: 6, D: 8, E: 5, Hd: 7, V: 11, C: 4 };
      const P = initParams(variant, dims, 3);
      const f = parseSafetensors(serializeSafetensors(paramsToArrays(P)));
      const back = paramsFromTensors(
        Object.fromEntries(Object.entries(f.tensors).map(([n, t]) => [n, tf.tensor(t.data, t.shape)])),
      );
      expect(back.variant).toBe(variant === 'medi' ? 'cam' : variant);
      expect(back.dims).toEqual({
        ...dims,
        ...(variant === 'cnn' ? { D: 0, E: 0, Hd: 0, V: 0 } : variant === 'lrcn' ? { D: 0, C: 0 } : {}),
      });
      expect(Object.keys(back.params).sort()).toEqual(Object.keys(paramShapes(variant, dims)).sort());
      for (const [n, p] of Object.entries(P))
        expect(Array.from(back.params[n].dataSync())).toEqual(Array.from(p.dataSync()));
    },
  );
});
