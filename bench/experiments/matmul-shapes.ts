/**
 * GFLOP/s of single products at given shapes and transposes on the process's backend, the way the
 * model's native kernel calls them (2-D operands, flags), wall and CPU time; compare with
 * bench/experiments/matmul_shapes_torch.py. Not part of `npm run bench`:
 *   PLUMAGE_BACKEND=node node --import tsx bench/experiments/matmul-shapes.ts SHAPES.json [--reps 5]
 * SHAPES.json: [[n, k, m, transposeA, transposeB], …] (the product is [n,k]·[k,m]).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { initBackend } from '../../src-main/ml/backend.ts';
import { median } from '../lib/stats.ts';


async function main() {
  const args = process.argv.slice(2);
  const backend = await initBackend();
  const shapes = JSON.parse(readFileSync(args[0], 'utf8')) as [number, number, number, boolean, boolean][];
  const reps = Number(args[args.indexOf('--reps') + 1] || 5);
  const mm = tf.getKernel('BatchMatMul', tf.getBackend())!;
  for (const [n, k, m, ta, tb] of shapes) {
    const a = tf.randomUniform(ta ? [k, n] : [n, k]);
    const b = tf.randomUniform(tb ? [m, k] : [k, m]);
    const run = () => {
      const out = mm.kernelFunc({ inputs: { a, b }, backend: tf.backend(), attrs: { transposeA: ta, transposeB: tb } });
      tf.engine().disposeTensor(out instanceof tf.Tensor ? out : tf.engine().makeTensorFromTensorInfo(out as tf.TensorInfo));
    };
    run();
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < reps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      run();
      walls.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpus.push((c.user + c.system) / 1000);
    }
    const w = median(walls);
    process.stdout.write(
      JSON.stringify({
        bench: 'matmul_shape',
        backend: backend.name,
        shape: `[${n},${k}]${ta ? '(T)' : ''}·[${k},${m}]${tb ? '(T)' : ''}`,
        ms: Number(w.toFixed(2)),
        cpu_ms: Number(median(cpus).toFixed(2)),
        gflops: Number(((2 * n * k * m) / 1e6 / w).toFixed(1)),
      }) + '\n',
    );
    a.dispose();
    b.dispose();
  }
}

await main();
