/**
 * Our GEMM (gemm.ts) as tfjs-backend-wasm's matrix product for big operands, in place on the
 * backend's heap: the operands are read at their heap offsets and the output is a tensor the
 * backend allocates, so nothing is copied. XNNPACK (the backend's BatchMatMul) keeps the small
 * products, where its lower fixed cost wins. One GEMM instance per backend instance (every
 * training worker has its own heap and thread).
 *
 * `PLUMAGE_WASM_GEMM=0` in the environment (or useWasmGemm(false)) turns it off, for A/B timings.
 */
import type * as tf from '@tensorflow/tfjs';
import { WasmGemm } from './gemm.ts';

interface WasmBackendLike {
  wasm?: { asm?: { memory?: WebAssembly.Memory }; _malloc(bytes: number): number };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/**
 * Products of fewer multiply-adds than this stay on XNNPACK: below it our per-call packing and
 * JavaScript driver cost more than they save (docs/model.md "Our own wasm GEMM").
 */
export const GEMM_MIN_MACS = 1 << 21;

let enabled: boolean | undefined;
/** Whether big wasm products run on our GEMM; undefined: yes unless PLUMAGE_WASM_GEMM=0. */
export function useWasmGemm(on?: boolean): void {
  enabled = on;
}
const envOff = () => typeof process !== 'undefined' && process.env?.PLUMAGE_WASM_GEMM === '0';
export const wasmGemmOn = (): boolean => enabled ?? !envOff();

/** Products and multiply-adds run on our GEMM in this thread so far (tests, bench lines). */
export const wasmGemmStats = { products: 0, macs: 0 };

const instances = new WeakMap<object, WasmGemm | null>();

/** The backend's GEMM, made on first use; null where its heap cannot be imported (a shared, threaded heap). */
function gemmOf(backend: WasmBackendLike): WasmGemm | null {
  let g = instances.get(backend);
  if (g !== undefined) return g;
  const memory = backend.wasm?.asm?.memory;
  try {
    g = memory ? new WasmGemm(memory, (bytes) => backend.wasm!._malloc(bytes)) : null;
  } catch {
    g = null; // e.g. a LinkError: this module imports an unshared memory
  }
  instances.set(backend, g);
  return g;
}

const batchOf = (t: tf.TensorInfo) => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);

/**
 * a [...batch, n, k] · b [...batch, k, m] (a batch of 1 broadcasts) on our GEMM, or undefined when
 * the product is small, not float32, of other batch shapes, or the GEMM is off: then the caller
 * runs the backend's own BatchMatMul.
 */
export function wasmGemmProduct(a: tf.TensorInfo, b: tf.TensorInfo, backend: unknown): tf.TensorInfo | undefined {
  if (!wasmGemmOn() || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2)
    return undefined;
  const [n, k] = a.shape.slice(-2);
  const [k2, m] = b.shape.slice(-2);
  const [ba, bb] = [batchOf(a), batchOf(b)];
  const batch = Math.max(ba, bb);
  if (k !== k2 || (ba !== bb && Math.min(ba, bb) !== 1) || n * k * m < GEMM_MIN_MACS) return undefined;
  const be = backend as WasmBackendLike;
  const gemm = gemmOf(be);
  if (!gemm) return undefined;
  const out = be.makeOutput([batch, n, m], 'float32');
  const at = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId)!.memoryOffset;
  const [pa, pb, pc] = [at(a), at(b), at(out)];
  for (let i = 0; i < batch; i++) {
    const A = { ptr: pa + (ba > 1 ? 4 * i * n * k : 0), rowStride: 4 * k, colStride: 4 };
    const B = { ptr: pb + (bb > 1 ? 4 * i * k * m : 0), rowStride: 4 * m, colStride: 4 };
    gemm.run(n, m, k, A, B, pc + 4 * i * n * m);
  }
  wasmGemmStats.products += batch;
  wasmGemmStats.macs += batch * n * k * m;
  return { ...out, shape: [...(ba >= bb ? a : b).shape.slice(0, -2), n, m] };
}
