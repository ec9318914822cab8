/**
 * Our GEMM (gemm.ts) as tfjs-backend-wasm's matrix product, in place on the backend's heap: the
 * operands are read at their heap offsets and the output is a tensor the backend allocates, so
 * nothing is copied. With the fused multiply-add (the default where the engine has it) every
 * product runs here; with mul + add, XNNPACK (the backend's BatchMatMul) keeps the small products
 * with a B it has already packed (GEMM_MIN_MACS_SEEN_B). One GEMM per backend instance (every
 * training worker has its own heap and thread).
 *
 * `PLUMAGE_WASM_GEMM=0` in the environment (or useWasmGemm(false)) turns it off, for A/B timings;
 * `PLUMAGE_WASM_GEMM=all` runs every product on it, however small (to test it under every model test).
 */
import type * as tf from '@tensorflow/tfjs';
import { WasmGemm, defaultArithmetic } from './gemm.ts';
import { PackedCache } from './packed-cache.ts';

interface WasmBackendLike {
  wasm?: { asm?: { memory?: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/**
 * XNNPACK (through tfjs-backend-wasm) packs B into an operator of its own the first time it sees
 * that B and keeps it while the tensor lives: products with a B it has seen run at up to
 * 25–28 GFLOP/s there, while a new B costs it 3–8 GFLOP/s. So, with mul + add, a B seen before
 * stays on XNNPACK below this many multiply-adds (where its cached packing won against our 6-row
 * kernels), and every product with a new B runs here (docs/model.md "Our own wasm GEMM"). With
 * the fused multiply-add the threshold does not apply (see route).
 */
export const GEMM_MIN_MACS_SEEN_B = 1 << 21;

type Mode = boolean | 'all';
let mode: Mode | undefined;
/**
 * Which wasm products run on our GEMM: true (those the rule below picks), false (none), 'all';
 * undefined: as PLUMAGE_WASM_GEMM says (0: none, all: all), else true.
 */
export function useWasmGemm(m?: Mode): void {
  mode = m;
}
const envMode = (): Mode => {
  const v = typeof process !== 'undefined' ? process.env?.PLUMAGE_WASM_GEMM : undefined;
  return v === '0' ? false : v === 'all' ? 'all' : true;
};
const currentMode = (): Mode => mode ?? envMode();

/** The B operands (by data id) products have been asked for before: XNNPACK may hold them packed. */
const seenB = new WeakSet<object>();

/**
 * Whether this product is ours, and whether its B was seen before (then noted as seen). With the
 * fused multiply-add every product is ours: its bits differ from XNNPACK's, so a rule that depends
 * on which B this thread has seen would make a worker's step (fresh copies of the weights) or a
 * resumed run round differently from the one-thread, uninterrupted run.
 */
function route(n: number, k: number, m: number, b: tf.TensorInfo): { ours: boolean; seen: boolean } {
  const seen = seenB.has(b.dataId);
  seenB.add(b.dataId);
  const everything = currentMode() === 'all' || defaultArithmetic() === 'fma';
  return { ours: everything || !seen || n * k * m >= GEMM_MIN_MACS_SEEN_B, seen };
}

/**
 * Heap kept for whole packed copies of B operands used again (packed-cache.ts), per backend: the
 * LSTM's and the vocabulary's weights and their transposes at paper widths (16–20 MB each).
 */
export const PACKED_CACHE_BYTES = 96 << 20;
/**
 * Products of at most this many rows read a B used before from its packed copy: there packing is
 * 5–30% of the product (per row of A, B is read once either way); more rows amortize it anyway.
 */
export const PACKED_CACHE_MAX_ROWS = 256;

/** Products and multiply-adds run on our GEMM in this thread so far (tests, bench lines). */
export const wasmGemmStats = { products: 0, macs: 0 };

interface Instance {
  gemm: WasmGemm;
  cache: PackedCache;
}
const instances = new WeakMap<object, Instance | null>();

/** The backend's GEMM, made on first use; null where its heap cannot be imported (a shared, threaded heap). */
function instanceOf(backend: WasmBackendLike): Instance | null {
  let g = instances.get(backend);
  if (g !== undefined) return g;
  const memory = backend.wasm?.asm?.memory;
  const heap = {
    malloc: (bytes: number) => backend.wasm!._malloc(bytes),
    free: (ptr: number) => backend.wasm!._free(ptr),
  };
  try {
    const gemm = memory ? new WasmGemm(memory, heap.malloc) : null;
    g = gemm && { gemm, cache: new PackedCache(gemm, heap, PACKED_CACHE_BYTES) };
  } catch {
    g = null; // e.g. a LinkError: this module imports an unshared memory
  }
  instances.set(backend, g);
  return g;
}

const batchOf = (t: tf.TensorInfo) => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);

/**
 * a [...batch, n, k] · b [...batch, k, m] (a batch of 1 broadcasts) on our GEMM, or undefined when
 * the product is small with a B seen before, not float32, of other batch shapes, or the GEMM is
 * off: then the caller runs the backend's own BatchMatMul.
 */
export function wasmGemmProduct(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  backend: unknown,
): tf.TensorInfo | undefined {
  if (
    !currentMode() ||
    a.dtype !== 'float32' ||
    b.dtype !== 'float32' ||
    a.shape.length < 2 ||
    b.shape.length < 2
  )
    return undefined;
  const [n, k] = a.shape.slice(-2);
  const [k2, m] = b.shape.slice(-2);
  const [ba, bb] = [batchOf(a), batchOf(b)];
  const batch = Math.max(ba, bb);
  if (k !== k2 || (ba !== bb && Math.min(ba, bb) !== 1)) return undefined;
  const { ours, seen } = route(n, k, m, b);
  const be = backend as WasmBackendLike;
  const inst = ours ? instanceOf(be) : null;
  if (!inst) return undefined;
  const out = be.makeOutput([batch, n, m], 'float32');
  const at = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId)!.memoryOffset;
  const [pa, pb, pc] = [at(a), at(b), at(out)];
  for (let i = 0; i < batch; i++) {
    const A = { ptr: pa + (ba > 1 ? 4 * i * n * k : 0), rowStride: 4 * k, colStride: 4 };
    const B = { ptr: pb + (bb > 1 ? 4 * i * k * m : 0), rowStride: 4 * m, colStride: 4 };
    // a B used before is likely used again: packed once, whole (one batch entry only)
    const reuse = seen && bb === 1 && n <= PACKED_CACHE_MAX_ROWS;
    const packed = reuse ? inst.cache.packed(b.dataId, k, m, B) : undefined;
    inst.gemm.run(n, m, k, A, B, pc + 4 * i * n * m, packed);
  }
  wasmGemmStats.products += batch;
  wasmGemmStats.macs += batch * n * k * m;
  return { ...out, shape: [...(ba >= bb ? a : b).shape.slice(0, -2), n, m] };
}
