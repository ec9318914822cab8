/**
 * The ceiling of wasm SIMD f32 arithmetic on this CPU in this Node (no TF.js): hand-assembled wasm
 * modules (no tool needed; the bytes are built below), timed for a few hundred ms each, wall and
 * CPU time, on 1 thread and on N worker threads at once (`--threads 1,2`):
 *
 *   peak      12 independent chains of `acc = acc·m + c` (f32x4.mul then f32x4.add, the only way
 *             to multiply-add in the wasm SIMD that tfjs-backend-wasm 4.22 is built for): the
 *             arithmetic peak, no memory traffic;
 *   gemm6x8   a register-blocked GEMM microkernel as XNNPACK's wasmsimd "splat" kernels are
 *             written (6 rows × 8 columns of C in 12 v128 accumulators; per k: 2 loads of B,
 *             6 load32_splat of A, 12 mul + 12 add), on packed panels that stay in L1: the best a
 *             matMul can do with these instructions;
 *   *_fma     the same with f32x4.relaxed_madd (relaxed SIMD: fused or not as the CPU has it), only
 *             with `--fma`, which needs `node --experimental-wasm-relaxed-simd` on Node 20.
 *
 *   node --import tsx bench/experiments/wasm-simd-peak.ts [--threads 1,2] [--ms 400] [--k 256]
 *   node --experimental-wasm-relaxed-simd --import tsx bench/experiments/wasm-simd-peak.ts --fma
 *
 * One JSON line per kernel and thread count: GFLOP/s per thread (from each thread's own wall time),
 * in total, and per second of the process's CPU time (`gflops_per_cpu_s`: a core's rate when it is
 * ours, the figure to read on a loaded machine). A multiply-add counts as 2 FLOP, as in every GFLOP/s figure of docs/model.md.
 */
import { Worker } from 'node:worker_threads';
import { loadavg } from 'node:os';
import { I32, V128, sleb, uleb } from '../../src-main/ml/wasm-gemm/wasm-asm.ts';

// ---- a tiny wasm assembler: just what these kernels need (the LEB128 encodings are the GEMM's) ----
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => vec([...Buffer.from(s)].map((b) => [b]));
const f32 = (x: number): number[] => [...new Uint8Array(new Float32Array([x]).buffer)];

const F32 = 0x7d;
const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  f32Const: (x: number) => [0x43, ...f32(x)],
  i32Add: [0x6a],
  i32LtU: [0x49],
  f32Add: [0x92],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const mem = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];
const v128Load = (offset: number) => op.simd(0x00, ...mem(4, offset));
const v128Load32Splat = (offset: number) => op.simd(0x09, ...mem(2, offset));
const v128Store = (offset: number) => op.simd(0x0b, ...mem(4, offset));
const f32x4Splat = op.simd(0x13);
const f32x4ExtractLane0 = op.simd(0x1f, 0);
const f32x4Add = op.simd(0xe4);
const f32x4Mul = op.simd(0xe6);
const f32x4RelaxedMadd = op.simd(0x105); // a·b + c

type Func = { params: number[]; results: number[]; locals: number[]; body: number[]; name: string };

function assemble(funcs: Func[]): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(4)]])), // memory: 4 pages (256 KiB)
    ...section(7, vec([...funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]), [...str('mem'), 0x02, 0x00]])),
    ...section(
      10,
      vec(
        funcs.map((f) => {
          const body = [...vec(f.locals.map((t) => [0x01, t])), ...f.body, ...op.end];
          return [...uleb(body.length), ...body];
        }),
      ),
    ),
  ];
  return new Uint8Array(bytes);
}

/** peak(n): 12 chains of acc = acc·m + c, n iterations; returns a lane so nothing is dead. */
function peakFunc(fma: boolean): Func {
  const CH = 12; // 12 chains + m + c = 14 xmm registers: V8 uses xmm0–15 and spills beyond
  const n = 0; // param
  const i = 1;
  const m = 2;
  const c = 3;
  const acc = (j: number) => 4 + j;
  const body: number[] = [];
  body.push(...op.f32Const(0.999), ...f32x4Splat, ...op.localSet(m));
  body.push(...op.f32Const(0.001), ...f32x4Splat, ...op.localSet(c));
  for (let j = 0; j < CH; j++) body.push(...op.f32Const(1 + j / 64), ...f32x4Splat, ...op.localSet(acc(j)));
  body.push(...op.loop);
  for (let j = 0; j < CH; j++) {
    if (fma) body.push(...op.localGet(acc(j)), ...op.localGet(m), ...op.localGet(c), ...f32x4RelaxedMadd);
    else body.push(...op.localGet(acc(j)), ...op.localGet(m), ...f32x4Mul, ...op.localGet(c), ...f32x4Add);
    body.push(...op.localSet(acc(j)));
  }
  body.push(...op.localGet(i), ...op.i32Const(1), ...op.i32Add, ...op.localTee(i), ...op.localGet(n), ...op.i32LtU, ...op.brIf(0));
  body.push(...op.end);
  body.push(...op.localGet(acc(0)), ...f32x4ExtractLane0);
  for (let j = 1; j < CH; j++) body.push(...op.localGet(acc(j)), ...f32x4ExtractLane0, ...op.f32Add);
  return { name: fma ? 'peak_fma' : 'peak', params: [I32], results: [F32], locals: [I32, V128, V128, ...Array(CH).fill(V128)], body };
}

/**
 * gemm(reps, k): C[6×8] += A[6×k]·B[k×8] `reps` times over the same packed panels
 * (A at byte 0: k groups of 6 floats; B at byte 65536: k groups of 8 floats); C stored at 196608.
 */
const A_AT = 0;
const B_AT = 65536;
const C_AT = 196608;
function gemmFunc(fma: boolean): Func {
  const MR = 6;
  const reps = 0;
  const k = 1;
  const r = 2;
  const kk = 3;
  const pa = 4;
  const pb = 5;
  const b0 = 6;
  const b1 = 7;
  const a = 8;
  const acc = (row: number, col: number) => 9 + row * 2 + col;
  const body: number[] = [];
  body.push(...op.loop); // reps
  body.push(...op.i32Const(A_AT), ...op.localSet(pa), ...op.i32Const(B_AT), ...op.localSet(pb), ...op.i32Const(0), ...op.localSet(kk));
  body.push(...op.loop); // k
  body.push(...op.localGet(pb), ...v128Load(0), ...op.localSet(b0), ...op.localGet(pb), ...v128Load(16), ...op.localSet(b1));
  for (let row = 0; row < MR; row++) {
    body.push(...op.localGet(pa), ...v128Load32Splat(4 * row), ...op.localSet(a));
    for (const [col, b] of [[0, b0], [1, b1]] as const) {
      if (fma) body.push(...op.localGet(a), ...op.localGet(b), ...op.localGet(acc(row, col)), ...f32x4RelaxedMadd);
      else body.push(...op.localGet(acc(row, col)), ...op.localGet(a), ...op.localGet(b), ...f32x4Mul, ...f32x4Add);
      body.push(...op.localSet(acc(row, col)));
    }
  }
  body.push(...op.localGet(pa), ...op.i32Const(4 * MR), ...op.i32Add, ...op.localSet(pa));
  body.push(...op.localGet(pb), ...op.i32Const(32), ...op.i32Add, ...op.localSet(pb));
  body.push(...op.localGet(kk), ...op.i32Const(1), ...op.i32Add, ...op.localTee(kk), ...op.localGet(k), ...op.i32LtU, ...op.brIf(0));
  body.push(...op.end);
  body.push(...op.localGet(r), ...op.i32Const(1), ...op.i32Add, ...op.localTee(r), ...op.localGet(reps), ...op.i32LtU, ...op.brIf(0));
  body.push(...op.end);
  for (let row = 0; row < MR; row++)
    for (const col of [0, 1]) body.push(...op.i32Const(C_AT + 32 * row + 16 * col), ...op.localGet(acc(row, col)), ...v128Store(0));
  return {
    name: fma ? 'gemm6x8_fma' : 'gemm6x8',
    params: [I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, V128, V128, V128, ...Array(2 * MR).fill(V128)],
    body,
  };
}

// ---- timing, in a worker thread per concurrent copy (plain JS: no TypeScript loader needed) ----
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, kernel, ms, k } = workerData;
const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
const f32 = new Float32Array(inst.exports.mem.buffer);
for (let i = 0; i < f32.length; i++) f32[i] = 1 / (1 + (i % 97));
const flopsPerCall = kernel.startsWith('peak') ? (n) => n * 12 * 8 : (n) => n * k * 6 * 8 * 2;
const call = kernel.startsWith('peak') ? (n) => inst.exports[kernel](n) : (n) => inst.exports[kernel](n, k);
let n = 1000;
for (;;) { const t = performance.now(); call(n); if (performance.now() - t > 20) break; n *= 2; }
parentPort.postMessage('warm');
parentPort.once('message', () => {
  const c0 = process.cpuUsage(); const t0 = performance.now(); let flops = 0;
  while (performance.now() - t0 < ms) { call(n); flops += flopsPerCall(n); }
  const wall = performance.now() - t0; const c = process.cpuUsage(c0);
  parentPort.postMessage({ wall, flops, cpu: (c.user + c.system) / 1000 });
});
`;

async function run(bytes: Uint8Array, kernel: string, threads: number, ms: number, k: number) {
  const ws = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { bytes, kernel, ms, k } }));
  await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));
  const c0 = process.cpuUsage();
  const results = await Promise.all(
    ws.map((w) => new Promise<{ wall: number; flops: number; cpu: number }>((r) => (w.once('message', r), w.postMessage('go')))),
  );
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  await Promise.all(ws.map((w) => w.terminate()));
  const per = results.map((x) => x.flops / x.wall / 1e6);
  return {
    bench: 'wasm_simd_peak',
    kernel,
    threads,
    ...(kernel.startsWith('gemm') ? { k } : {}),
    gflops_per_thread: per.map((g) => Number(g.toFixed(1))),
    gflops_total: Number(per.reduce((a, b) => a + b, 0).toFixed(1)),
    // per second of CPU time (all threads): what a core gives when it is ours, whatever the load
    gflops_per_cpu_s: Number((results.reduce((a, x) => a + x.flops, 0) / cpuS / 1e9).toFixed(1)),
    loadavg: Number(loadavg()[0].toFixed(2)),
  };
}

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const threadCounts = opt('--threads', '1,2').split(',').map(Number);
const ms = Number(opt('--ms', '400'));
const k = Number(opt('--k', '256'));
const fma = args.includes('--fma');
if (6 * 4 * k > B_AT || 8 * 4 * k > C_AT - B_AT) throw new Error('--k: at most 2730');
const funcs = [peakFunc(false), gemmFunc(false), ...(fma ? [peakFunc(true), gemmFunc(true)] : [])];
const bytes = assemble(funcs);
if (!WebAssembly.validate(bytes)) throw new Error('the assembled module does not validate (relaxed SIMD needs --experimental-wasm-relaxed-simd)');
for (const threads of threadCounts)
  for (const f of funcs) process.stdout.write(JSON.stringify(await run(bytes, f.name, threads, ms, k)) + '\n');
