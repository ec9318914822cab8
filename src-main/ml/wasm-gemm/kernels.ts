/**
 * The GEMM's wasm functions, generated: register-blocked SIMD microkernels (MR rows × 8 columns of
 * C in 2·MR f32x4 accumulators, each step f32x4.mul then f32x4.add, or relaxed SIMD's
 * f32x4.relaxed_madd where the engine has it: see gemm.ts), a macro loop over a packed block, and
 * the packing and edge routines. All addresses and strides are in bytes, into the imported heap.
 *
 * Packed layouts: A in strips of MR rows, each kc groups of MR floats (k-major); B in strips of 8
 * columns, each kc groups of 8 floats. So a microkernel reads both operands sequentially.
 */
import { Fn, I32, V128, assemble, op } from './wasm-asm.ts';

/**
 * The widest row block: 8 accumulators + 2 B vectors + 4 A splats = 14 of the 15 xmm registers
 * V8 allocates on x64. A 6-row kernel (12 + 2 + 1 if the splats were used one at a time) ran at
 * 23–25 GFLOP/s against this one's 32–42: V8's scheduler loads all the splats of a k step before
 * the multiplies, and with six of them four accumulators were spilled to the stack in the loop.
 */
export const MR = 4;
export const NR = 8;

/** How a microkernel multiplies and accumulates: f32x4.mul + f32x4.add, or f32x4.relaxed_madd. */
export type Arithmetic = 'mul-add' | 'fma';

/** Export names, in function-index order (a microkernel's index is mr − 1: the macros call them). */
export const kernelName = (mr: number) => `k${mr}`;
export const macroName = (mr: number) => `macro${mr}`;

/**
 * k{mr}(pa, pb, kc, c, ldc, acc): C[mr×8] (+)= Apacked[mr×kc]·Bpacked[kc×8]; kc ≥ 1; C at c with
 * row stride ldc; acc = 0 overwrites C, else adds to it (the later blocks of K).
 */
function microkernel(mr: number, arithmetic: Arithmetic): Fn {
  const f = new Fn(kernelName(mr), [I32, I32, I32, I32, I32, I32]);
  const [pa, pb, kc, c, ldc, acc] = [0, 1, 2, 3, 4, 5];
  const b = [f.local(V128), f.local(V128)];
  const a = f.local(V128);
  const sums = Array.from({ length: 2 * mr }, () => f.local(V128));
  for (const s of sums) f.emit(op.v128Zero, op.set(s));
  f.emit(op.loop);
  f.emit(op.get(pb), op.v128Load(0), op.set(b[0]), op.get(pb), op.v128Load(16), op.set(b[1]));
  for (let r = 0; r < mr; r++) {
    f.emit(op.get(pa), op.load32Splat(4 * r), op.set(a));
    for (const j of [0, 1]) {
      const s = sums[2 * r + j];
      if (arithmetic === 'fma') f.emit(op.get(a), op.get(b[j]), op.get(s), op.f32x4RelaxedMadd, op.set(s));
      else f.emit(op.get(s), op.get(a), op.get(b[j]), op.f32x4Mul, op.f32x4Add, op.set(s));
    }
  }
  f.addTo(pa, op.i32(4 * mr)).addTo(pb, op.i32(4 * NR));
  f.emit(op.get(kc), op.i32(1), op.sub, op.tee(kc), op.brIf(0), op.end);
  const store = (add: boolean) => {
    for (let r = 0; r < mr; r++) {
      for (const j of [0, 1]) {
        const prior = add ? [...op.get(c), ...op.v128Load(16 * j)] : [];
        f.emit(op.get(c), prior, op.get(sums[2 * r + j]), add ? op.f32x4Add : [], op.v128Store(16 * j));
      }
      if (r < mr - 1) f.addTo(c, op.get(ldc));
    }
  };
  f.emit(op.get(acc), op.if);
  store(true);
  f.emit(op.else);
  store(false);
  f.emit(op.end);
  return f;
}

/**
 * macro{mr}(mStrips, nStrips, kc, pa, pb, c, ldc, acc): every (mr-row strip, 8-column strip) tile
 * of a packed block; column strips outside, so a B strip (kc×8) stays in L1 across the A strips.
 */
function macro(mr: number): Fn {
  const f = new Fn(macroName(mr), [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [mStrips, nStrips, kc, pa, pb, c, ldc, acc] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [jr, ir, pbJ, paI, cI] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.forRange(jr, op.get(nStrips), () => {
    f.emit(op.get(pb), op.get(jr), op.get(kc), op.mul, op.i32(4 * NR), op.mul, op.add, op.set(pbJ));
    f.emit(op.get(c), op.get(jr), op.i32(4 * NR), op.mul, op.add, op.set(cI));
    f.emit(op.get(pa), op.set(paI));
    f.forRange(ir, op.get(mStrips), () => {
      f.emit(op.get(paI), op.get(pbJ), op.get(kc), op.get(cI), op.get(ldc), op.get(acc), op.call(mr - 1));
      f.addTo(paI, [...op.get(kc), ...op.i32(4 * mr), ...op.mul]);
      f.addTo(cI, [...op.get(ldc), ...op.i32(mr), ...op.mul]);
    });
  });
  return f;
}

/** packA(src, rs, cs, strips, kc, mr, dst): `strips` strips of mr rows of A (any strides). */
function packA(): Fn {
  const f = new Fn('packA', [I32, I32, I32, I32, I32, I32, I32]);
  const [src, rs, cs, strips, kc, mr, dst] = [0, 1, 2, 3, 4, 5, 6];
  const [s, k, r, p, row0] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.forRange(s, op.get(strips), () => {
    f.emit(op.get(src), op.get(s), op.get(mr), op.mul, op.get(rs), op.mul, op.add, op.set(row0));
    f.forRange(k, op.get(kc), () => {
      f.emit(op.get(row0), op.get(k), op.get(cs), op.mul, op.add, op.set(p));
      f.forRange(r, op.get(mr), () => {
        f.emit(op.get(dst), op.get(p), op.f32Load(), op.f32Store());
        f.addTo(dst, op.i32(4)).addTo(p, op.get(rs));
      });
    });
  });
  return f;
}

/** packB(src, rk, kc, strips, dst): full 8-column strips of a B whose columns are contiguous. */
function packB(): Fn {
  const f = new Fn('packB', [I32, I32, I32, I32, I32]);
  const [src, rk, kc, strips, dst] = [0, 1, 2, 3, 4];
  const [k, s, p, d] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  // row by row: each row of B is read once, in order
  f.forRange(k, op.get(kc), () => {
    f.emit(op.get(src), op.get(k), op.get(rk), op.mul, op.add, op.set(p));
    f.emit(op.get(dst), op.get(k), op.i32(4 * NR), op.mul, op.add, op.set(d));
    f.forRange(s, op.get(strips), () => {
      f.emit(op.get(d), op.get(p), op.v128Load(0), op.v128Store(0));
      f.emit(op.get(d), op.get(p), op.v128Load(16), op.v128Store(16));
      f.addTo(p, op.i32(4 * NR)).addTo(d, [...op.get(kc), ...op.i32(4 * NR), ...op.mul]);
    });
  });
  return f;
}

/**
 * packBCols(src, rk, cn, kc, strips, cols, dst): strips of B with any strides, the last `cols`
 * (≤ 8) columns wide and zero-padded (a transposed B, or the right edge of any B).
 */
function packBCols(): Fn {
  const f = new Fn('packBCols', [I32, I32, I32, I32, I32, I32, I32]);
  const [src, rk, cn, kc, strips, cols, dst] = [0, 1, 2, 3, 4, 5, 6];
  const [s, k, j, p, width] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.forRange(s, op.get(strips), () => {
    // width = the last strip ? cols : 8
    f.emit(op.i32(NR), op.set(width), op.get(s), op.i32(1), op.add, op.get(strips), op.geU, op.if);
    f.emit(op.get(cols), op.set(width), op.end);
    f.forRange(k, op.get(kc), () => {
      f.emit(op.get(src), op.get(s), op.i32(NR), op.mul, op.get(cn), op.mul, op.add);
      f.emit(op.get(k), op.get(rk), op.mul, op.add, op.set(p));
      f.forRange(j, op.i32(NR), () => {
        f.emit(op.get(dst), op.get(j), op.get(width), op.ltU);
        f.emit(op.ifF32, op.get(p), op.f32Load(), op.else, op.f32Zero, op.end); // zero past the edge
        f.emit(op.f32Store()).addTo(dst, op.i32(4)).addTo(p, op.get(cn));
      });
    });
  });
  return f;
}

/** copyCols(src, srcLd, dst, dstLd, rows, cols, acc): dst (+)= the first cols columns of src. */
function copyCols(): Fn {
  const f = new Fn('copyCols', [I32, I32, I32, I32, I32, I32, I32]);
  const [src, srcLd, dst, dstLd, rows, cols, acc] = [0, 1, 2, 3, 4, 5, 6];
  const [r, j, s, d] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.forRange(r, op.get(rows), () => {
    f.emit(op.get(src), op.get(r), op.get(srcLd), op.mul, op.add, op.set(s));
    f.emit(op.get(dst), op.get(r), op.get(dstLd), op.mul, op.add, op.set(d));
    f.forRange(j, op.get(cols), () => {
      f.emit(op.get(d), op.get(acc), op.ifF32, op.get(d), op.f32Load(), op.get(s), op.f32Load(), op.f32Add);
      f.emit(op.else, op.get(s), op.f32Load(), op.end, op.f32Store());
      f.addTo(s, op.i32(4)).addTo(d, op.i32(4));
    });
  });
  return f;
}

/** The module's bytes: microkernels k1…k{MR} (indices 0…MR − 1), macros, packing, edges. */
export function gemmModuleBytes(arithmetic: Arithmetic = 'mul-add'): Uint8Array<ArrayBuffer> {
  const rows = Array.from({ length: MR }, (_, i) => i + 1);
  const kernels = rows.map((mr) => microkernel(mr, arithmetic));
  return assemble([...kernels, ...rows.map(macro), packA(), packB(), packBCols(), copyCols()]);
}

/** Whether this engine accepts relaxed SIMD's f32x4.relaxed_madd (V8 ≥ 11.4 by default; Node 20 behind a flag). */
export function hasRelaxedMadd(): boolean {
  const f = new Fn('madd', [V128, V128, V128]);
  f.emit(op.get(0), op.get(1), op.get(2), op.f32x4RelaxedMadd, op.drop);
  return WebAssembly.validate(assemble([f]));
}
