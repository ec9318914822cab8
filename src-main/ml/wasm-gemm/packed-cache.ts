/**
 * Whole packed copies of B operands that products use again (a weight across an LSTM's time
 * steps), kept in the heap so each is packed once: for a 64-row product the packing of a
 * [1024,4096] B is a fifth of its time. Least recently used copies are freed past the capacity.
 *
 * Keyed by the tensor's data id, which TF.js never gives to other data (tensors are immutable;
 * a new value is a new data id), so a copy cannot go stale while its key lives.
 */
import { WasmGemm, type Operand } from './gemm.ts';

interface Entry {
  ptr: number;
  bytes: number;
  k: number;
  n: number;
  src: number;
}

export class PackedCache {
  /** in order of last use, oldest first */
  private readonly entries = new Map<object, Entry>();
  private bytes = 0;

  constructor(
    private readonly gemm: WasmGemm,
    private readonly heap: { malloc(bytes: number): number; free(ptr: number): void },
    private readonly capacity: number,
  ) {}

  /** The packed B for key (packing it now if need be), or undefined when it does not fit. */
  packed(key: object, k: number, n: number, b: Operand): number | undefined {
    const hit = this.entries.get(key);
    if (hit && hit.k === k && hit.n === n && hit.src === b.ptr) {
      this.entries.delete(key); // most recent last
      this.entries.set(key, hit);
      return hit.ptr;
    }
    if (hit) this.drop(key, hit);
    const bytes = WasmGemm.packedBytes(k, n);
    if (bytes > this.capacity) return undefined;
    for (const [oldKey, old] of this.entries) {
      if (this.bytes + bytes <= this.capacity) break;
      this.drop(oldKey, old);
    }
    const ptr = this.heap.malloc(bytes);
    if (!ptr) return undefined;
    this.gemm.packAll(k, n, b, ptr);
    this.entries.set(key, { ptr, bytes, k, n, src: b.ptr });
    this.bytes += bytes;
    return ptr;
  }

  private drop(key: object, e: Entry): void {
    this.heap.free(e.ptr);
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }
}
