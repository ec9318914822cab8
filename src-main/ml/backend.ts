/**
 * Compute backend, resolved once per process (DESIGN §2):
 * tfjs-node-gpu → tfjs-node → wasm (SIMD) → cpu; `PLUMAGE_BACKEND=gpu|node|wasm|cpu` forces one.
 * tfjs-node(-gpu) are optional dependencies that cannot install offline, so they are imported
 * dynamically and their absence is not an error unless forced.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type BackendName = 'gpu' | 'node' | 'wasm' | 'cpu';
export interface BackendInfo {
  name: BackendName;
  /** Human-readable: the TF.js backend id and what it runs on. */
  detail: string;
}

const ORDER: BackendName[] = ['gpu', 'node', 'wasm', 'cpu'];
let pending: Promise<BackendInfo> | null = null;
let resolved: BackendInfo | null = null;

/** Dynamic import that TypeScript and bundlers do not try to resolve (optional packages). */
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

async function tryBackend(name: BackendName): Promise<BackendInfo> {
  switch (name) {
    case 'gpu': {
      await importOptional('@tensorflow/tfjs-node-gpu');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tensorflow backend did not start');
      return { name, detail: 'tfjs-node-gpu (libtensorflow, CUDA)' };
    }
    case 'node': {
      await importOptional('@tensorflow/tfjs-node');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tensorflow backend did not start');
      return { name, detail: 'tfjs-node (libtensorflow, CPU)' };
    }
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
      return { name, detail: `tfjs-backend-wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread)` };
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not start');
      return { name, detail: 'tfjs-backend-cpu (plain JS)' };
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
          throw new Error(`PLUMAGE_BACKEND=${forced}: expected one of ${ORDER.join(', ')}`);
        try {
          resolved = await tryBackend(forced as BackendName);
        } catch (e) {
          throw new Error(
            `PLUMAGE_BACKEND=${forced} is not available here: ${(e as Error).message.split('\n')[0]}`,
            {
              cause: e,
            },
          );
        }
        return resolved;
      }
      const failures: string[] = [];
      for (const name of ORDER) {
        try {
          resolved = await tryBackend(name);
          return resolved;
        } catch (e) {
          failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      throw new Error(`no TF.js backend could start (${failures.join('; ')})`);
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
