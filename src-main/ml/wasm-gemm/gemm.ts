/**
 * A cache-blocked single-precision GEMM on a wasm heap (the loop order of BLIS): for each block
 * of NC columns and KC inner rows, B is packed once (KC×NC: L2), then for each block of MC rows A
 * is packed (MC×KC), and the macro loop runs the SIMD microkernel over the block's tiles. The
 * packing buffers are allocated once in the heap; the module imports the heap's Memory itself,
 * so growing the heap never invalidates anything here (no JS views are kept).
 */
import v8 from 'node:v8';
import { type Arithmetic, MR, NR, gemmModuleBytes, hasRelaxedMadd, macroName } from './kernels.ts';

/** A matrix operand in the heap: byte address and byte strides of its rows and columns. */
export interface Operand {
  ptr: number;
  rowStride: number;
  colStride: number;
}

export interface Blocking {
  mc: number;
  kc: number;
  nc: number;
}

/** MC×KC of A ≈ 120 KB and KC×NC of B ≈ 512 KB (the CPU's L2 is 1 MB); see docs/model.md. */
export const DEFAULT_BLOCKING: Blocking = { mc: 120, kc: 256, nc: 512 };

type Exports = Record<string, (...args: number[]) => void>;

/**
 * Byte offset of the block (columns j…, rows p…) in a B packed whole: the column blocks one
 * after the other (each k × nc, padded to whole strips), the row blocks within one likewise.
 */
const blockAt = (k: number, j: number, p: number, cols: number) =>
  4 * (j * k + p * Math.ceil(cols / NR) * NR);

let relaxedMadd: boolean | undefined;
let fmaChoice: boolean | undefined;

/**
 * Turns relaxed SIMD on where V8 has it behind a flag (Node 20's V8 11.3; shipped from 11.4, so
 * Electron's V8 needs nothing): V8 reads its wasm feature flags when it validates a module, so
 * setting the flag before our module is compiled is enough, for worker threads too (the flags are
 * per process). Returns whether the engine now accepts f32x4.relaxed_madd.
 */
export function allowRelaxedSimd(): boolean {
  if (!hasRelaxedMadd()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return (relaxedMadd = hasRelaxedMadd());
}

/**
 * Whether the microkernels use f32x4.relaxed_madd: true or false, or undefined (the default): yes
 * where the engine accepts it, unless PLUMAGE_WASM_FMA=0 is in the environment. With it every
 * product runs here (batch-matmul.ts), so a step's bits do not depend on which operands XNNPACK saw.
 */
export function useWasmFma(on?: boolean): void {
  fmaChoice = on;
}
// Read once: the kernels ask for every product, and process.env is slow to read.
let envFmaValue: boolean | undefined;
const envFma = () => (envFmaValue ??= (typeof process !== 'undefined' ? process.env?.PLUMAGE_WASM_FMA : undefined) !== '0');

/** The arithmetic of the products run now: fma only where the engine validates relaxed_madd. */
export function defaultArithmetic(): Arithmetic {
  relaxedMadd ??= hasRelaxedMadd();
  return (fmaChoice ?? envFma()) && relaxedMadd ? 'fma' : 'mul-add';
}

const compiled = new Map<Arithmetic, WebAssembly.Module>();
function gemmModule(arithmetic: Arithmetic): WebAssembly.Module {
  let m = compiled.get(arithmetic);
  if (!m) compiled.set(arithmetic, (m = new WebAssembly.Module(gemmModuleBytes(arithmetic))));
  return m;
}

export class WasmGemm {
  private readonly instances = new Map<Arithmetic, Exports>();
  private scratch?: { a: number; b: number; c: number };

  /** `arithmetic`: the microkernels' (fixed), else defaultArithmetic() at each product. */
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly malloc: (bytes: number) => number,
    private readonly blocking: Blocking = DEFAULT_BLOCKING,
    private readonly arithmetic?: Arithmetic,
  ) {
    if (blocking.mc % MR || blocking.nc % NR)
      throw new Error(`WasmGemm: mc must be a multiple of ${MR}, nc of ${NR}`);
  }

  /** The functions of the arithmetic bound for the product being run (see bind). */
  private fns!: Exports;
  private bound?: Arithmetic;

  /**
   * Binds the functions of the current arithmetic's module (instantiated on this heap once), once
   * per product: the packing and macro-kernel calls read a plain field, which a getter per call
   * made 15–20% slower in a wasm cam step.
   */
  private bind(): void {
    const arithmetic = this.arithmetic ?? defaultArithmetic();
    if (arithmetic === this.bound) return;
    let fns = this.instances.get(arithmetic);
    if (!fns) {
      const instance = new WebAssembly.Instance(gemmModule(arithmetic), { env: { memory: this.memory } });
      this.instances.set(arithmetic, (fns = instance.exports as unknown as Exports));
    }
    [this.fns, this.bound] = [fns, arithmetic];
  }

  /**
   * C [m,n] (row-major, contiguous, at byte address c) = A [m,k] · B [k,n]. `packed`: B already
   * packed whole by packAll (a B used again and again is packed once), else B is packed block by block.
   */
  run(m: number, n: number, k: number, a: Operand, b: Operand, c: number, packed?: number): void {
    if (m === 0 || n === 0) return;
    if (k === 0) return void new Float32Array(this.memory.buffer, c, m * n).fill(0);
    this.bind();
    const { mc, kc, nc } = this.blocking;
    for (let j = 0; j < n; j += nc)
      for (let p = 0; p < k; p += kc) {
        const cols = Math.min(nc, n - j);
        const depth = Math.min(kc, k - p);
        const pb =
          packed === undefined
            ? this.packB(b, p, j, depth, cols, this.buffers().b)
            : packed + blockAt(k, j, p, cols);
        for (let i = 0; i < m; i += mc) {
          const rows = Math.min(mc, m - i);
          this.packA(a, i, p, rows, depth);
          this.block(rows, cols, depth, pb, c + 4 * (i * n + j), 4 * n, p > 0);
        }
      }
  }

  /** Bytes of B [k,n] packed whole. */
  static packedBytes(k: number, n: number): number {
    return 4 * k * Math.ceil(n / NR) * NR;
  }

  /** Packs all of B [k,n] at dst (packedBytes(k, n) bytes), in the blocks run reads. */
  packAll(k: number, n: number, b: Operand, dst: number): void {
    this.bind();
    const { kc, nc } = this.blocking;
    for (let j = 0; j < n; j += nc)
      for (let p = 0; p < k; p += kc) {
        const cols = Math.min(nc, n - j);
        this.packB(b, p, j, Math.min(kc, k - p), cols, dst + blockAt(k, j, p, cols));
      }
  }

  private buffers(): { a: number; b: number; c: number } {
    if (this.scratch) return this.scratch;
    const { mc, kc, nc } = this.blocking;
    const at = this.malloc(4 * (mc * kc + kc * nc + mc * NR) + 16);
    if (!at) throw new Error('WasmGemm: out of heap for the packing buffers');
    const a = (at + 15) & ~15; // 16-byte aligned panels
    return (this.scratch = { a, b: a + 4 * mc * kc, c: a + 4 * (mc * kc + kc * nc) });
  }

  /** Packs B's block (rows p…, columns j…) at dst; returns dst. */
  private packB(b: Operand, p: number, j: number, depth: number, cols: number, dst: number): number {
    const src = b.ptr + p * b.rowStride + j * b.colStride;
    const full = Math.floor(cols / NR);
    if (b.colStride === 4) {
      if (full) this.fns.packB(src, b.rowStride, depth, full, dst);
      if (cols % NR)
        this.fns.packBCols(
          src + 4 * NR * full,
          b.rowStride,
          4,
          depth,
          1,
          cols % NR,
          dst + 4 * NR * depth * full,
        );
    } else {
      this.fns.packBCols(src, b.rowStride, b.colStride, depth, Math.ceil(cols / NR), cols % NR || NR, dst);
    }
    return dst;
  }

  private packA(a: Operand, i: number, p: number, rows: number, depth: number): void {
    const src = a.ptr + i * a.rowStride + p * a.colStride;
    const full = Math.floor(rows / MR);
    const dst = this.buffers().a;
    if (full) this.fns.packA(src, a.rowStride, a.colStride, full, depth, MR, dst);
    const rest = rows % MR;
    if (rest)
      this.fns.packA(
        src + full * MR * a.rowStride,
        a.rowStride,
        a.colStride,
        1,
        depth,
        rest,
        dst + 4 * full * MR * depth,
      );
  }

  /** One packed block into C (ldc in bytes); the columns past the last full strip via a scratch tile. */
  private block(
    rows: number,
    cols: number,
    depth: number,
    b: number,
    c: number,
    ldc: number,
    acc: boolean,
  ): void {
    const { a, c: tile } = this.buffers();
    const full = Math.floor(cols / NR);
    const edge = cols % NR;
    if (full) this.tiles(rows, full, depth, a, b, c, ldc, acc);
    if (!edge) return;
    this.tiles(rows, 1, depth, a, b + 4 * NR * depth * full, tile, 4 * NR, false);
    this.fns.copyCols(tile, 4 * NR, c + 4 * NR * full, ldc, rows, edge, acc ? 1 : 0);
  }

  private tiles(
    rows: number,
    strips: number,
    depth: number,
    a: number,
    b: number,
    c: number,
    ldc: number,
    acc: boolean,
  ) {
    const full = Math.floor(rows / MR);
    const rest = rows % MR;
    const flag = acc ? 1 : 0;
    if (full) this.fns[macroName(MR)](full, strips, depth, a, b, c, ldc, flag);
    if (rest)
      this.fns[macroName(rest)](
        1,
        strips,
        depth,
        a + 4 * full * MR * depth,
        b,
        c + full * MR * ldc,
        ldc,
        flag,
      );
  }
}
