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
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { initBackend } from '../../src-main/ml/backend.ts';
import { mm } from '../../src-main/ml/ops.ts';
import { useWasmGemm, wasmGemmStats } from '../../src-main/ml/wasm-gemm/batch-matmul.ts';

/** The cam step's biggest products as wasm runs them (docs/model.md "The wasm ceiling, measured"). */
const BIG = [[64, 1024, 4096], [64, 4096, 1024], [1216, 5000, 1024], [1216, 1024, 5000], [32, 1024, 5000], [5000, 608, 1024], [4096, 32, 1024], [1216, 4096, 512]];
/** Around the threshold: where our fixed cost meets XNNPACK's. */
const SMALL = [[64, 256, 256], [64, 512, 512], [32, 512, 1024], [64, 1024, 1024], [128, 512, 512], [16, 1024, 1024], [8, 1024, 4096], [256, 256, 256]];

const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];

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

async function main() {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
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
      for (const [times, ours] of [[xnn, false], [own, true]] as const) {
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
