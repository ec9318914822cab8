/**
 * Our wasm SIMD GEMM (src-main/ml/wasm-gemm/) against XNNPACK (tfjs-backend-wasm 4.22's
 * BatchMatMul) on the same operands in the same heap, interleaved round by round, as GFLOP/s per
 * second of CPU time (what a core gives when it is ours: the machine is shared). Both through
 * ops.mm, so both pay the same dispatch. Not part of `npm run bench`:
 *
 *   PLUMAGE_BACKEND=wasm node --import tsx bench/experiments/wasm-gemm.ts [--rounds 3] [--shapes big|small|M,K,N;…] [--fresh]
 *
 * `--fresh`: every product takes a B of its own (a copy made beforehand), as most of a training
 * step's products do; without it the same B every time, which lets XNNPACK reuse the packed B it
 * keeps per operand (as it does for a weight across the LSTM's time steps).
 *
 * One JSON line per shape [M,K,N] (the product [M,K]·[K,N]): the median of the rounds for each,
 * and their ratio (ours / XNNPACK).
 *
 *   node --import tsx bench/experiments/wasm-gemm.ts --own-heap [--blocking 120,256,512;120,128,1024] [--shapes …] [--fma] [--hot]
 *
 * `--own-heap`: our GEMM alone on a heap of its own (no TF.js), each blocking (mc,kc,nc) given and
 * the first one with B packed once beforehand (`packed_once`, as the packed-B cache gives), 5
 * interleaved rounds; 64 MB are written between products so that B is not in cache (as in a step).
 * `--fma`: every arm also with the microkernels on f32x4.relaxed_madd (the arm's name + ` fma`;
 * turns on Node 20's --experimental-wasm-relaxed-simd in process). `--hot`: no 64 MB write between
 * products (operands in cache: the kernel itself).
 *
 *   node --import tsx bench/experiments/wasm-gemm.ts --macro [--rounds 2]
 *
 * `--macro`: each generated macro kernel (1…MR rows × 8 columns per tile) on one 120×256×512
 * block of operands already packed and hot, both arithmetics: the register blocking alone, with no
 * packing or memory traffic (how MR was chosen: docs/model.md "Four-row microkernels").
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { initBackend } from '../../src-main/ml/backend.ts';
import { mm } from '../../src-main/ml/ops.ts';
import { useWasmGemm, wasmGemmStats } from '../../src-main/ml/wasm-gemm/batch-matmul.ts';
import { WasmGemm, allowRelaxedSimd } from '../../src-main/ml/wasm-gemm/gemm.ts';
import { type Arithmetic, MR, gemmModuleBytes, macroName } from '../../src-main/ml/wasm-gemm/kernels.ts';
import { median } from '../lib/stats.ts';

/** The cam step's biggest products as wasm runs them (docs/model.md "The wasm ceiling, measured"). */
const BIG = [
  [64, 1024, 4096],
  [64, 4096, 1024],
  [1216, 5000, 1024],
  [1216, 1024, 5000],
  [32, 1024, 5000],
  [5000, 608, 1024],
  [4096, 32, 1024],
  [1216, 4096, 512],
];
/** Around the threshold: where our fixed cost meets XNNPACK's. */
const SMALL = [
  [64, 256, 256],
  [64, 512, 512],
  [32, 512, 1024],
  [64, 1024, 1024],
  [128, 512, 512],
  [16, 1024, 1024],
  [8, 1024, 4096],
  [256, 256, 256],
];


/** CPU ms of a product by each of bs. */
function cpuOf(a: tf.Tensor, bs: tf.Tensor[], ours: boolean): number {
  useWasmGemm(ours ? 'all' : false);
  const c0 = process.cpuUsage();
  for (const b of bs) mm(a, b).dispose();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function parseShapes(s: string): number[][] {
  if (s === 'big') return BIG;
  if (s === 'small') return SMALL;
  return s.split(';').map((x) => x.split(',').map(Number));
}

/** A heap of its own with a bump allocator (reset per shape). */
function ownHeap() {
  const memory = new WebAssembly.Memory({ initial: 12000 });
  let top = 64;
  const malloc = (bytes: number) => ((top = (top + 15) & ~15), (top += bytes), top - bytes);
  return { memory, malloc, mark: () => top, reset: (at: number) => void (top = at) };
}

/** GFLOP/s per CPU second of each arm on each shape, on a heap of its own. */
function ownHeapRuns(shapes: number[][], blockings: number[][], fma: boolean, hot: boolean) {
  const heap = ownHeap();
  const kinds: Arithmetic[] = fma ? ['mul-add', 'fma'] : ['mul-add'];
  const suffix = (kind: Arithmetic) => (kind === 'fma' ? ' fma' : '');
  const gemms = kinds.map((kind) =>
    blockings.map(([mc, kc, nc]) => new WasmGemm(heap.memory, heap.malloc, { mc, kc, nc }, kind)),
  );
  const flush = heap.malloc(64 << 20);
  const base = heap.mark();
  for (const [m, k, n] of shapes) {
    heap.reset(base);
    const [A, B, C, P] = [4 * m * k, 4 * k * n, 4 * m * n, WasmGemm.packedBytes(k, n)].map(heap.malloc);
    const f = new Float32Array(heap.memory.buffer);
    for (let i = 0; i < m * k + k * n; i++) f[A / 4 + i] = Math.random() * 2 - 1; // A and B lie back to back
    const a = { ptr: A, rowStride: 4 * k, colStride: 4 };
    const b = { ptr: B, rowStride: 4 * n, colStride: 4 };
    gemms[0][0].packAll(k, n, b, P);
    const arms: [string, () => void][] = kinds.flatMap((kind, j) => [
      ...gemms[j].map(
        (g, i) =>
          [blockings[i].join(',') + suffix(kind), () => g.run(m, n, k, a, b, C)] as [string, () => void],
      ),
      ['packed_once' + suffix(kind), () => gemms[j][0].run(m, n, k, a, b, C, P)] as [string, () => void],
    ]);
    const reps = Math.max(1, Math.min(8, Math.round(5e8 / (2 * m * k * n)))); // each after a 64 MB write
    const times = arms.map(() => [] as number[]);
    for (let round = 0; round < 5; round++)
      arms.forEach(([, run], i) => {
        let us = 0;
        for (let r = 0; r < reps; r++) {
          if (!hot) new Float32Array(heap.memory.buffer, flush, 16 << 20).fill(r);
          const c0 = process.cpuUsage();
          run();
          const c = process.cpuUsage(c0);
          us += c.user + c.system;
        }
        times[i].push((2 * m * k * n * reps) / (us / 1e6) / 1e9);
      });
    const gflops = Object.fromEntries(arms.map(([name], i) => [name, Number(median(times[i]).toFixed(1))]));
    const line = {
      bench: 'wasm_gemm_own_heap',
      shape: [m, k, n],
      hot,
      gflops_per_cpu_s: gflops,
      loadavg: Number(loadavg()[0].toFixed(2)),
    };
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

/** GFLOP/s per CPU second of each macro kernel width on one packed, hot block, per arithmetic. */
function macroRuns(rounds: number) {
  const memory = new WebAssembly.Memory({ initial: 400 });
  const f = new Float32Array(memory.buffer);
  for (let i = 0; i < f.length; i++) f[i] = (i % 97) / 97 - 0.5;
  const [kc, nc, pa, pb, c, ldc] = [256, 512, 1 << 20, 4 << 20, 16 << 20, 4 * 512];
  const kinds: Arithmetic[] = allowRelaxedSimd() ? ['mul-add', 'fma'] : ['mul-add'];
  for (let round = 0; round < rounds; round++)
    for (const kind of kinds) {
      const fns = new WebAssembly.Instance(new WebAssembly.Module(gemmModuleBytes(kind)), { env: { memory } })
        .exports as Record<string, (...a: number[]) => void>;
      for (let mr = MR; mr >= 1; mr--) {
        const strips = Math.floor(120 / mr);
        const block = () => fns[macroName(mr)](strips, nc / 8, kc, pa, pb, c, ldc, 1);
        block(); // tier-up
        let calls = 0;
        const [c0, t0] = [process.cpuUsage(), performance.now()];
        for (; performance.now() - t0 < 500; calls++) block();
        const cpu = process.cpuUsage(c0);
        const gflops = (2 * strips * mr * kc * nc * calls) / ((cpu.user + cpu.system) / 1e6) / 1e9;
        process.stdout.write(
          JSON.stringify({ bench: 'wasm_gemm_macro', round, arithmetic: kind, rows: mr, gflops_per_cpu_s: Number(gflops.toFixed(1)), loadavg: Number(loadavg()[0].toFixed(2)) }) + '\n',
        );
      }
    }
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) =>
    args.includes(name) ? args[args.indexOf(name) + 1] : fallback;
  const fma = args.includes('--fma');
  if (fma && !allowRelaxedSimd()) throw new Error('this engine has no relaxed SIMD');
  if (args.includes('--macro')) return macroRuns(Number(opt('--rounds', '2')));
  if (args.includes('--own-heap'))
    return ownHeapRuns(
      parseShapes(opt('--shapes', 'big')),
      parseShapes(opt('--blocking', '120,256,512')),
      fma,
      args.includes('--hot'),
    );
  const rounds = Number(opt('--rounds', '3'));
  const fresh = args.includes('--fresh');
  const info = await initBackend();
  if (info.name !== 'wasm') throw new Error('run with PLUMAGE_BACKEND=wasm');
  for (const [m, k, n] of parseShapes(opt('--shapes', 'big'))) {
    const a = tf.randomUniform([m, k], -1, 1);
    const b = tf.randomUniform([k, n], -1, 1);
    const flop = 2 * m * k * n;
    // fresh operands: at most 300 live copies and 256 MB (XNNPACK keeps a packed B per operand until it is disposed)
    const cap = fresh ? Math.min(300, Math.floor(2 ** 28 / (4 * k * n))) : Infinity;
    const reps = Math.max(1, Math.min(cap, Math.round(2e9 / flop)));
    // the same B every time, or copies of it (new tensors: XNNPACK has not packed them yet)
    const bs = (fresh: boolean) => Array.from({ length: reps }, () => (fresh ? tf.add(b, 0) : b));
    cpuOf(a, [b], true); // warm both (tier-up, packing buffers)
    cpuOf(a, [b], false);
    const before = wasmGemmStats.products;
    const [xnn, own]: number[][] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const [times, ours] of [
        [xnn, false],
        [own, true],
      ] as const) {
        const operands = bs(fresh);
        times.push(cpuOf(a, operands, ours));
        if (fresh) tf.dispose(operands);
      }
    }
    useWasmGemm(undefined);
    const gflops = (ms: number) => Number(((flop * reps) / (ms / 1000) / 1e9).toFixed(1));
    const [gx, go] = [gflops(median(xnn)), gflops(median(own))];
    const line = {
      bench: 'wasm_gemm',
      shape: [m, k, n],
      fresh_b: fresh,
      xnnpack_gflops_per_cpu_s: gx,
      ours_gflops_per_cpu_s: go,
      ratio: Number((go / gx).toFixed(2)),
      ours_ran: wasmGemmStats.products - before === rounds * reps, // false: below the threshold
      loadavg: Number(loadavg()[0].toFixed(2)),
    };
    process.stdout.write(JSON.stringify(line) + '\n');
    tf.dispose([a, b]);
  }
}

await main();
