/**
 * Our wasm SIMD GEMM (src-main/ml/wasm-gemm/): on a heap of its own against a float64 reference
 * for shapes that exercise every edge path (rows not a multiple of 6, columns not a multiple of 8,
 * K across blocks, transposed operands); and, on the wasm backend, as the backend's product against
 * XNNPACK, including a product whose output grows the heap. Each with both microkernel
 * arithmetics where the engine has relaxed SIMD (turned on here as the backend turns it on).
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/ml/backend.ts';
import { rng } from '../../src-main/ml/model.ts';
import { mm, mmNN, mmNT, untrackedTranspose } from '../../src-main/ml/ops.ts';
import { WasmGemm, type Operand, allowRelaxedSimd, useWasmFma } from '../../src-main/ml/wasm-gemm/gemm.ts';
import type { Arithmetic } from '../../src-main/ml/wasm-gemm/kernels.ts';
import { PackedCache } from '../../src-main/ml/wasm-gemm/packed-cache.ts';
import { useWasmGemm, wasmGemmStats } from '../../src-main/ml/wasm-gemm/batch-matmul.ts';

/** A heap with a bump allocator, as the backend's _malloc would give. */
function heap(pages: number) {
  const memory = new WebAssembly.Memory({ initial: pages });
  let top = 64;
  const malloc = (bytes: number) => ((top = (top + 15) & ~15), (top += bytes), top - bytes);
  return { memory, malloc };
}

/** Fills `count` floats at ptr with values in [-1, 1). */
function fill(memory: WebAssembly.Memory, ptr: number, count: number, seed: number) {
  const r = rng(seed);
  const f = new Float32Array(memory.buffer, ptr, count);
  for (let i = 0; i < count; i++) f[i] = r() * 2 - 1;
}

/**
 * max over C of |C − C64| / Σ_p |a_ip b_pj|: float32 rounding of a sum of k products is a few
 * times 2⁻²⁴ of that sum at most; a wrong or missing entry is of order 1.
 */
function worstError(
  memory: WebAssembly.Memory,
  m: number,
  n: number,
  k: number,
  a: Operand,
  b: Operand,
  c: number,
) {
  const f = new Float32Array(memory.buffer);
  let worst = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const x =
          f[(a.ptr + i * a.rowStride + p * a.colStride) / 4] *
          f[(b.ptr + p * b.rowStride + j * b.colStride) / 4];
        sum += x;
        abs += Math.abs(x);
      }
      const e = Math.abs(f[c / 4 + i * n + j] - sum) / Math.max(abs, 1e-30);
      worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
    }
  return worst;
}

const arithmetics: Arithmetic[] = allowRelaxedSimd() ? ['mul-add', 'fma'] : ['mul-add'];

describe.each(arithmetics)('WasmGemm (%s) on a heap of its own', (arithmetic) => {
  const { memory, malloc } = heap(1024);
  // small blocks, so that these shapes cross block edges in M, N and K too
  const gemm = new WasmGemm(memory, malloc, { mc: 12, kc: 16, nc: 24 }, arithmetic);
  const shapes = [
    [1, 1, 1],
    [5, 7, 13],
    [7, 13, 5],
    [13, 65, 7],
    [65, 5, 33],
    [1, 1000, 3],
    [6, 8, 16],
    [12, 24, 17],
    [25, 49, 70],
  ];
  for (const [m, n, k] of shapes)
    it(`C[${m},${n}] = A[${m},${k}]·B[${k},${n}], every transpose, within float32 rounding`, () => {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const [A, B, C] = [malloc(4 * m * k), malloc(4 * k * n), malloc(4 * m * n)];
        fill(memory, A, m * k, m + 7 * k);
        fill(memory, B, k * n, n + 5 * k);
        new Float32Array(memory.buffer, C, m * n).fill(NaN); // an entry left unwritten fails
        const a = ta
          ? { ptr: A, rowStride: 4, colStride: 4 * m }
          : { ptr: A, rowStride: 4 * k, colStride: 4 };
        const b = tb
          ? { ptr: B, rowStride: 4, colStride: 4 * k }
          : { ptr: B, rowStride: 4 * n, colStride: 4 };
        gemm.run(m, n, k, a, b, C);
        expect(worstError(memory, m, n, k, a, b, C), `transposeA ${ta}, transposeB ${tb}`).toBeLessThan(2e-6);
      }
    });

  it('a B packed whole once (packAll) gives the same C as packing it block by block', () => {
    for (const [m, n, k] of shapes) {
      const [A, B, C, C2] = [malloc(4 * m * k), malloc(4 * k * n), malloc(4 * m * n), malloc(4 * m * n)];
      const P = malloc(WasmGemm.packedBytes(k, n));
      fill(memory, A, m * k, 3 * m + k);
      fill(memory, B, k * n, 3 * n + k);
      const a = { ptr: A, rowStride: 4 * k, colStride: 4 };
      const b = { ptr: B, rowStride: 4 * n, colStride: 4 };
      gemm.run(m, n, k, a, b, C);
      new Float32Array(memory.buffer, C2, m * n).fill(NaN);
      gemm.packAll(k, n, b, P);
      gemm.run(m, n, k, a, b, C2, P);
      // the same products summed in the same order: equal to the bit
      expect(new Float32Array(memory.buffer, C2, m * n), `[${m},${k}]·[${k},${n}]`).toEqual(
        new Float32Array(memory.buffer, C, m * n),
      );
    }
  });

  it('the packed-B cache evicts past its capacity and repacks a key whose operand moved', () => {
    const [m, n, k] = [13, 21, 37];
    const live = new Set<number>();
    const counted = {
      malloc: (bytes: number) => {
        const p = malloc(bytes);
        live.add(p);
        return p;
      },
      free: (p: number) => live.delete(p),
    };
    const cache = new PackedCache(gemm, counted, WasmGemm.packedBytes(k, n)); // room for one
    const A = malloc(4 * m * k);
    fill(memory, A, m * k, 9);
    const a = { ptr: A, rowStride: 4 * k, colStride: 4 };
    const bs = [1, 2, 3].map((seed) => {
      const ptr = malloc(4 * k * n);
      fill(memory, ptr, k * n, seed);
      return { ptr, rowStride: 4 * n, colStride: 4 };
    });
    const keys = [{}, {}];
    // key 0 → B0, key 1 → B1, key 0 → B0 again (evicted meanwhile), key 1 → B2 (its operand moved)
    for (const [key, b] of [
      [0, bs[0]],
      [1, bs[1]],
      [0, bs[0]],
      [1, bs[2]],
    ] as const) {
      const C = malloc(4 * m * n);
      gemm.run(m, n, k, a, b, C, cache.packed(keys[key], k, n, b));
      expect(worstError(memory, m, n, k, a, b, C)).toBeLessThan(2e-6);
      expect(live.size).toBe(1);
    }
  });

  it('the default blocking at sizes past 1000, and K = 0 gives zeros', () => {
    const big = new WasmGemm(memory, malloc, undefined, arithmetic);
    const [m, n, k] = [7, 1003, 1100];
    const [A, B, C] = [malloc(4 * m * k), malloc(4 * k * n), malloc(4 * m * n)];
    fill(memory, A, m * k, 1);
    fill(memory, B, k * n, 2);
    const a = { ptr: A, rowStride: 4 * k, colStride: 4 };
    const b = { ptr: B, rowStride: 4 * n, colStride: 4 };
    big.run(m, n, k, a, b, C);
    expect(worstError(memory, m, n, k, a, b, C)).toBeLessThan(2e-6);
    big.run(m, n, 0, a, b, C);
    expect(new Float32Array(memory.buffer, C, m * n).every((x) => x === 0)).toBe(true);
  });
});

describe('relaxed SIMD in a fresh process', () => {
  // as a CLI command or a training worker starts: the flag Node 20 needs is the backend's to set
  const code = `import { initBackend } from './src-main/ml/backend.ts';
    import { defaultArithmetic } from './src-main/ml/wasm-gemm/gemm.ts';
    initBackend().then((i) => console.log(JSON.stringify({ detail: i.detail, arithmetic: defaultArithmetic() })));`;
  const start = (env: Record<string, string>) =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        // this run's own PLUMAGE_WASM_FMA (if any) is not the case under test
        env: { ...process.env, PLUMAGE_WASM_FMA: undefined, PLUMAGE_BACKEND: 'wasm', ...env },
        encoding: 'utf8',
      }),
    ) as { detail: string; arithmetic: Arithmetic };

  it('the wasm backend uses the fused multiply-add wherever this engine can, and mul + add with PLUMAGE_WASM_FMA=0', () => {
    const fma = arithmetics.includes('fma');
    const cases: Record<string, string>[] = [{}, { PLUMAGE_WASM_FMA: '' }, { PLUMAGE_WASM_FMA: '1' }];
    for (const env of cases)
      expect(start(env)).toEqual({
        detail: expect.stringMatching(fma ? /relaxed-SIMD FMA/ : /^((?!FMA).)*$/),
        arithmetic: fma ? 'fma' : 'mul-add',
      });
    const off = start({ PLUMAGE_WASM_FMA: '0' });
    expect(off.arithmetic).toBe('mul-add');
    expect(off.detail).not.toMatch(/FMA/);
  });
});

describe.each(arithmetics)('the wasm backend’s big products on our GEMM (%s)', (arithmetic) => {
  beforeAll(async () => {
    await initBackend();
  });
  beforeEach(() => useWasmFma(arithmetic === 'fma'));
  afterEach(() => useWasmFma(undefined));
  const rand = (shape: number[], seed: number) => {
    const r = rng(seed);
    return tf.tensor(
      Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => r() * 2 - 1),
      shape,
    );
  };
  /** max |x − y| / max |y| */
  const maxRel = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    let d = 0;
    let s = 1e-12;
    for (let i = 0; i < y.length; i++)
      [d, s] = [Math.max(d, Math.abs(x[i] - y[i])), Math.max(s, Math.abs(y[i]))];
    return d / s;
  };
  const xnnpack = <T>(f: () => T): T => {
    useWasmGemm(false);
    try {
      return f();
    } finally {
      useWasmGemm(undefined);
    }
  };

  it('mm, mmNT, mmNN and their gradients match XNNPACK (edge sizes: 65 rows, 1003 columns; a B used twice)', () => {
    if (tf.getBackend() !== 'wasm') return; // the node backend never reaches this module
    tf.tidy(() => {
      const [a, b, W, c] = [
        rand([65, 1001], 1),
        rand([1001, 1003], 2),
        rand([1003, 1001], 3),
        rand([65, 1003], 4),
      ];
      const before = wasmGemmStats.products;
      // mm(a, b) twice: the second reads b's packed copy
      const ours = [mm(a, b), mmNT(a, W), mmNN(c, W, untrackedTranspose(W)), mm(a, b)];
      expect(wasmGemmStats.products - before).toBe(4);
      const theirs = xnnpack(() => [
        tf.matMul(a, b),
        tf.matMul(a, W, false, true),
        tf.matMul(c, W),
        tf.matMul(a, b),
      ]);
      ours.forEach((x, i) => expect(maxRel(x.dataSync(), theirs[i].dataSync())).toBeLessThan(1e-5));
      const loss = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(mmNT(x, w), c));
      const g = tf.grads(loss)([a, W]);
      const want = xnnpack(() => tf.grads(loss)([a, W]));
      g.forEach((x, i) => expect(maxRel(x.dataSync(), want[i].dataSync())).toBeLessThan(1e-5));
    });
  });

  it('a small product with a B seen before stays on XNNPACK with mul + add only: with the fused multiply-add every product is ours', () => {
    if (tf.getBackend() !== 'wasm') return;
    useWasmGemm(true); // the product's rule, whatever PLUMAGE_WASM_GEMM this run has
    try {
      tf.tidy(() => {
        const [a, b] = [rand([8, 64], 7), rand([64, 64], 8)]; // 32 K multiply-adds: far below the threshold
        mm(a, b); // b is new: ours either way
        const before = wasmGemmStats.products;
        mm(a, b);
        expect(wasmGemmStats.products - before).toBe(arithmetic === 'fma' ? 1 : 0);
      });
    } finally {
      useWasmGemm(undefined);
    }
  });

  it('a product whose output grows the heap', () => {
    if (tf.getBackend() !== 'wasm') return;
    const memory = (tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm
      .memory;
    const bytes = memory.buffer.byteLength;
    const m = Math.ceil(bytes / 4 / 1024) + 8; // an output larger than the whole heap was
    tf.tidy(() => {
      const [a, b] = [rand([1024, 3], 5), rand([3, m], 6)];
      const ours = mm(a, b);
      expect(memory.buffer.byteLength).toBeGreaterThan(bytes);
      const theirs = xnnpack(() => tf.matMul(a, b));
      expect(maxRel(ours.dataSync(), theirs.dataSync())).toBeLessThan(1e-6);
    });
  });
});
