/**
 * A tiny WebAssembly assembler: just the encodings the GEMM kernels need (i32 arithmetic, f32 and
 * v128 loads and stores, f32x4 mul/add and relaxed multiply-add, structured loops), so the module
 * is built in TypeScript at load time with no tool and no dependency. Functions import one memory:
 * tfjs-backend-wasm's heap.
 */

export const I32 = 0x7f;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));
// memarg: alignment exponent (a hint only: unaligned access is legal) and a constant byte offset
const mem = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];
const simd = (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm];

/** Instructions, as byte arrays. */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  geU: [0x4f],
  ltU: [0x49],
  eqz: [0x45],
  drop: [0x1a],
  f32Add: [0x92],
  call: (f: number) => [0x10, ...uleb(f)],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  /** an if/else whose branches leave an f32 */
  ifF32: [0x04, 0x7d],
  else: [0x05],
  end: [0x0b],
  f32Load: (offset = 0) => [0x2a, ...mem(2, offset)],
  f32Store: (offset = 0) => [0x38, ...mem(2, offset)],
  f32Zero: [0x43, 0, 0, 0, 0],
  v128Load: (offset = 0) => simd(0x00, ...mem(4, offset)),
  v128Store: (offset = 0) => simd(0x0b, ...mem(4, offset)),
  load32Splat: (offset = 0) => simd(0x09, ...mem(2, offset)),
  v128Zero: simd(0x0c, ...new Array(16).fill(0)),
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  /** relaxed SIMD (0xfd 0x105): a·b + c, fused or not as the engine and CPU have it */
  f32x4RelaxedMadd: simd(0x105),
};

/** One function: parameters and locals by index, a body of instructions. */
export class Fn {
  readonly body: number[] = [];
  private readonly locals: number[] = [];
  constructor(
    readonly name: string,
    readonly params: number[],
  ) {}

  /** A new local of `type`; returns its index. */
  local(type: number): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  emit(...parts: number[][]): this {
    for (const p of parts) for (const b of p) this.body.push(b);
    return this;
  }

  /** for (i = 0; i < limit; i++) body — `limit` is code that leaves an i32 on the stack. */
  forRange(i: number, limit: number[], body: () => void): this {
    this.emit(op.i32(0), op.set(i), op.block, op.loop, op.get(i), limit, op.geU, op.brIf(1));
    body();
    this.emit(op.get(i), op.i32(1), op.add, op.set(i), op.br(0), op.end, op.end);
    return this;
  }

  /** local x += code */
  addTo(x: number, code: number[]): this {
    return this.emit(op.get(x), code, op.add, op.set(x));
  }

  encode(): number[] {
    const body = [...vec(this.locals.map((t) => [0x01, t])), ...this.body, ...op.end];
    return [...uleb(body.length), ...body];
  }
}

/** A module of `fns` (no results; all exported by name) that imports `env.memory`. */
export function assemble(fns: Fn[]): Uint8Array<ArrayBuffer> {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0x00]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, ...uleb(0)]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((f) => f.encode()))),
  ];
  return new Uint8Array(bytes);
}
