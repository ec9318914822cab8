/**
 * Every matrix product of one Algorithm-1 training step, counted and timed one by one (native
 * backend: a libtensorflow op runs synchronously, so the time around the kernel is the product's):
 * shape and transpose flags, calls, multiply-adds, summed wall and CPU ms, GFLOP/s (wasm too:
 * its kernels are synchronous as well). For the FLOP
 * audit against PyTorch's step (docs/model.md "Speed levers, measured"). Not part of `npm run bench`:
 *   PLUMAGE_BACKEND=node node --import tsx bench/experiments/matmul-audit.ts [--variant cam]
 *     [--batch 32] [--dims paper|small] [--share on|off] [--top 20]
 * One JSON line: {"bench":"matmul_audit", …, "gmac": total, "rows": [{shape, calls, gmac, ms, gflops}]}.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/ml/backend.ts';
import { option, randomStep } from './random-step.ts';

interface Row {
  calls: number;
  mac: number;
  ms: number;
  cpu: number;
}

/** [n,k]·[k,m] of a (batched) product with flags: the key, and its multiply-adds. */
function describe(a: number[], b: number[], ta: boolean, tb: boolean): { key: string; mac: number } {
  const batch = a.slice(0, -2).reduce((x, y) => x * y, 1);
  const [ar, ac] = a.slice(-2);
  const [br, bc] = b.slice(-2);
  const n = ta ? ac : ar;
  const k = ta ? ar : ac;
  const m = tb ? br : bc;
  const pre = batch > 1 ? `${batch}×` : '';
  return { key: `${pre}[${a.slice(-2)}]${ta ? 'ᵀ' : ''}·[${b.slice(-2)}]${tb ? 'ᵀ' : ''} (n=${n},k=${k},m=${m})`, mac: batch * n * k * m };
}

/** Wraps a backend's kernel so that each call is recorded in `table` (when `on()`). */
function instrument(kernelName: string, table: Map<string, Row>, on: () => boolean): void {
  const backendName = tf.getBackend();
  const base = tf.getKernel(kernelName, backendName);
  if (!base) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: (args) => {
      if (!on()) return base.kernelFunc(args);
      // the operands as each kernel names them (wasm's mmNT multiplies a by wt, mmNN g by w)
      const ins = args.inputs as Record<string, tf.TensorInfo>;
      const a = ins.a ?? ins.g;
      const b = kernelName === 'PlumageMatMulNT' ? ins.wt : kernelName === 'PlumageMatMulNN' ? ins.w : ins.b;
      const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
      const { key, mac } = describe(a.shape, b.shape, !!attrs.transposeA, !!attrs.transposeB);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = base.kernelFunc(args);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const r = table.get(key) ?? { calls: 0, mac: 0, ms: 0, cpu: 0 };
      r.calls++;
      r.mac += mac;
      r.ms += ms;
      r.cpu += (c.user + c.system) / 1000;
      table.set(key, r);
      return out;
    },
  });
}

async function main() {
  const args = process.argv.slice(2);
  const backend = await initBackend();
  const { variant, B, dimsName, share, step, dispose } = randomStep(args, 'paper');
  step(); // registers the Plumage kernels
  const table = new Map<string, Row>();
  let recording = false;
  for (const k of ['PlumageMatMulFlags', 'BatchMatMul', 'PlumageMatMul', 'PlumageMatMulNT', 'PlumageMatMulNN'])
    instrument(k, table, () => recording);
  step();
  recording = true;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  step();
  const wall = performance.now() - t0;
  const cu = process.cpuUsage(c0);
  recording = false;
  dispose();
  const rows = [...table.entries()].sort((x, y) => y[1].ms - x[1].ms);
  const sum = (f: (r: Row) => number) => rows.reduce((a, [, r]) => a + f(r), 0);
  const top = Number(option(args, '--top', '25'));
  process.stdout.write(
    JSON.stringify({
      bench: 'matmul_audit',
      backend: backend.name,
      variant,
      batch: B,
      dims: dimsName,
      share,
      step_wall_ms: Math.round(wall),
      step_cpu_ms: Math.round((cu.user + cu.system) / 1000),
      matmul_calls: sum((r) => r.calls),
      gmac: Number((sum((r) => r.mac) / 1e9).toFixed(2)),
      matmul_ms: Math.round(sum((r) => r.ms)),
      matmul_cpu_ms: Math.round(sum((r) => r.cpu)),
      rows: rows.slice(0, top).map(([shape, r]) => ({
        shape,
        calls: r.calls,
        gmac: Number((r.mac / 1e9).toFixed(3)),
        ms: Math.round(r.ms),
        cpu_ms: Math.round(r.cpu),
        gflops: Number(((2 * r.mac) / 1e6 / r.ms).toFixed(1)),
      })),
    }) + '\n',
  );
}

await main();
