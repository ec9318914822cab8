/**
 * Compute backend, resolved once per process (docs/design.md: Compute backends):
 * tfjs-node-gpu → tfjs-node → wasm (SIMD) → cpu; `PLUMAGE_BACKEND=gpu|node|wasm|cpu` forces one.
 * tfjs-node(-gpu) are optional dependencies that cannot install offline, so they are imported
 * dynamically and their absence is not an error unless forced.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { announceBackend } from './backend-announce.ts';
import { allowRelaxedSimd, defaultArithmetic } from './wasm-gemm/gemm.ts';
import { NATIVE_PACKAGES, nativeMissing } from './backend-probe.ts';
import { invalidRequest, unavailable } from '../util/errors.ts';

export type BackendName = 'gpu' | 'node' | 'wasm' | 'cpu';
export interface BackendInfo {
  name: BackendName;
  /** Human-readable: the TF.js backend id and what it runs on. */
  detail: string;
  /** Versions of what computes: the TF.js package, and libtensorflow on gpu/node. */
  version: string;
}

const ORDER: BackendName[] = ['gpu', 'node', 'wasm', 'cpu'];
let pending: Promise<BackendInfo> | null = null;
let resolved: BackendInfo | null = null;
/** Why each backend tried before the chosen one (or a forced one) did not start. */
const failures = new Map<BackendName, string>();

/** Dynamic import that TypeScript and bundlers do not try to resolve (optional packages). */
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

/**
 * Loads tfjs-node or tfjs-node-gpu (one binding, same code path). The addon is checked first:
 * importing a package whose addon is missing registers its kernels before it throws.
 */
async function startNative(name: 'gpu' | 'node'): Promise<BackendInfo> {
  const missing = nativeMissing(name);
  if (missing) throw new Error(missing);
  // libtensorflow logs INFO lines (oneDNN, CPU features) on stderr unless told otherwise
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const mod = (await importOptional(NATIVE_PACKAGES[name])) as { version?: Record<string, string> };
  if (!(await tf.setBackend('tensorflow'))) throw new Error('tensorflow backend did not start');
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  const pkgVersion = mod.version?.['tfjs-node'] ?? tf.version_core;
  return {
    name,
    detail: name === 'gpu' ? 'tfjs-node-gpu (libtensorflow, CUDA)' : 'tfjs-node (libtensorflow, CPU)',
    version: `${name === 'gpu' ? 'tfjs-node-gpu' : 'tfjs-node'} ${pkgVersion}, libtensorflow ${binding?.TF_Version ?? '?'}`,
  };
}

async function tryBackend(name: BackendName): Promise<BackendInfo> {
  switch (name) {
    case 'gpu':
    case 'node':
      return startNative(name);
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const require = createRequire(import.meta.url);
      // main entry is dist/tf-backend-wasm.node.js; the .wasm binaries sit beside it.
      const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/';
      wasm.setWasmPaths(dist);
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not start');
      await tf.ready();
      registerWasmGaps();
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      // our GEMM's microkernels on relaxed SIMD's fused multiply-add when asked: Node 20's V8 needs a flag
      const fma = allowRelaxedSimd() && defaultArithmetic() === 'fma';
      return {
        name,
        detail: `tfjs-backend-wasm (${simd ? 'SIMD' : 'no SIMD'}${fma ? ', relaxed-SIMD FMA' : ''}, 1 thread)`,
        version: `tfjs-backend-wasm ${wasm.version_wasm}`,
      };
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not start');
      return { name, detail: 'tfjs-backend-cpu (plain JS)', version: `tfjs-core ${tf.version_core}` };
    }
  }
}

/**
 * The wasm backend has no `UnsortedSegmentSum` kernel, which is the gradient of `tf.gather`
 * (an embedding lookup). Register a small JS implementation so gather gradients work on wasm
 * instead of failing or silently falling back to cpu. (model.ts's embedding lookup does not need
 * it — it has its own scatter-add gradient — but other code using tf.gather does.)
 */
function registerWasmGaps(): void {
  // The wasm Identity kernel copies its input, and TF.js clones (Identity) every tensor it saves
  // for a backward pass: a 16 MB weight copy per LSTM step and gigabytes per training step.
  // Tensors are immutable, so share the buffer with a reference count, as the cpu backend does.
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = (inputs as { x: tf.TensorInfo }).x;
      (backend as unknown as { incRef(d: unknown): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  if (have.has('UnsortedSegmentSum')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as {
        readSync(d: unknown): Float32Array | Int32Array;
        makeOutput(s: number[], d: string): tf.TensorInfo;
        typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
      };
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      if (x.dtype !== 'float32') throw new Error('UnsortedSegmentSum (wasm shim): float32 only');
      const xs = b.readSync(x.dataId) as Float32Array;
      const ids = b.readSync(segmentIds.dataId) as Int32Array | Float32Array;
      const inner = xs.length / Math.max(1, ids.length);
      const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const out = b.makeOutput(outShape, 'float32');
      const o = b.typedArrayFromHeap(out) as Float32Array;
      o.fill(0);
      for (let i = 0; i < ids.length; i++) {
        const s = ids[i];
        if (s < 0 || s >= numSegments) continue;
        const src = i * inner;
        const dst = s * inner;
        for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
      }
      return out;
    },
  });
}

/** Resolves the backend once (later calls return the same promise). */
export function initBackend(): Promise<BackendInfo> {
  if (!pending) {
    pending = (async () => {
      const forced = (process.env.PLUMAGE_BACKEND || '').trim().toLowerCase();
      if (forced) {
        if (!ORDER.includes(forced as BackendName))
          throw invalidRequest(`PLUMAGE_BACKEND=${forced}: expected one of ${ORDER.join(', ')}`);
        try {
          resolved = await tryBackend(forced as BackendName);
          announceBackend(describeBackend(resolved));
        } catch (e) {
          failures.set(forced as BackendName, (e as Error).message.split('\n')[0]);
          throw unavailable(
            `PLUMAGE_BACKEND=${forced} is not available here: ${(e as Error).message.split('\n')[0]}`,
            {
              cause: e,
            },
          );
        }
        return resolved;
      }
      for (const name of ORDER) {
        try {
          resolved = await tryBackend(name);
          announceBackend(describeBackend(resolved));
          return resolved;
        } catch (e) {
          failures.set(name, (e as Error).message.split('\n')[0]);
        }
      }
      const why = [...failures].map(([n, m]) => `${n}: ${m}`).join('; ');
      throw unavailable(`no TF.js backend could start (${why})`);
    })();
    pending.catch(() => {
      pending = null;
    });
  }
  return pending;
}

/** The backend chosen by initBackend(), or null before it resolved. */
export function backendInfo(): BackendInfo | null {
  return resolved;
}

/** One line for logs and run records: `node — tfjs-node 4.22.0, libtensorflow 2.21.0`. */
export function describeBackend(info: BackendInfo): string {
  return `${info.name} — ${info.version}`;
}

export interface BackendReport {
  name: BackendName;
  status: 'chosen' | 'unavailable' | 'not tried';
  /** what it is (chosen), why it did not start (unavailable), or why it was not needed */
  why: string;
}

/**
 * Every backend in preference order with whether it runs here and why not (`plumage doctor`).
 * Resolves the backend first; a backend after the chosen one is not started (a process uses one).
 */
export async function diagnoseBackends(): Promise<{ chosen: BackendInfo | null; backends: BackendReport[] }> {
  let chosen: BackendInfo | null = null;
  let error = '';
  try {
    chosen = await initBackend();
  } catch (e) {
    error = (e as Error).message;
  }
  const forced = (process.env.PLUMAGE_BACKEND || '').trim().toLowerCase();
  const backends = ORDER.map((name): BackendReport => {
    if (chosen?.name === name) return { name, status: 'chosen', why: `${chosen.detail}; ${chosen.version}` };
    const failed = failures.get(name);
    if (failed) return { name, status: 'unavailable', why: failed };
    if (name === 'gpu' || name === 'node') {
      const missing = nativeMissing(name);
      if (missing) return { name, status: 'unavailable', why: missing };
    }
    const because = forced ? `PLUMAGE_BACKEND=${forced}` : chosen ? `${chosen.name} comes first` : error;
    return { name, status: 'not tried', why: because };
  });
  return { chosen, backends };
}
