/**
 * The custom-gradient primitives (ops.ts) and the backend choice (backend.ts). Second-order
 * gradients through nested tf.grad are compared with analytic values (float64) or with central
 * differences of the first-order gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, initBackend } from '../../src-main/ml/backend.ts';
import { expectedBackend, nativeMissing } from '../../src-main/ml/backend-probe.ts';
import {
  embed,
  logSoftmax,
  logSumExp,
  mm,
  mmNN,
  mmNT,
  mmTN,
  pickLogSoftmax,
  sigmoid,
  tanh,
  untrackedTranspose,
} from '../../src-main/ml/ops.ts';
import { rng } from '../../src-main/ml/model.ts';
import { useLeanGradients } from '../../src-main/ml/lean-grads.ts';

const repo = resolve(import.meta.dirname, '../..');
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  const s = Math.max(1e-12, ...Array.from(b, Math.abs));
  return Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]))) / s < tol;
};
const rand = (shape: number[], seed: number) => {
  const r = rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1),
    shape,
  );
};

beforeAll(async () => {
  await initBackend();
});

describe('backend', () => {
  it('resolves once, to the forced backend or the first available one, and reports it', async () => {
    const info = await initBackend();
    const expected = process.env.PLUMAGE_BACKEND || expectedBackend().split(' ')[0];
    expect(info.name).toBe(expected);
    expect(backendInfo()).toEqual(info);
    expect(tf.getBackend()).toBe(info.name === 'wasm' ? 'wasm' : info.name === 'cpu' ? 'cpu' : 'tensorflow');
    if (info.name === 'node' || info.name === 'gpu') expect(info.version).toMatch(/libtensorflow \d+\.\d+/);
    else expect(info.version).toMatch(/^tfjs-(backend-wasm|core) \d+\.\d+/);
  });

  // Each native backend either starts (its addon is built) or fails with a one-line reason.
  it('starts a forced backend that is available, fails clearly on one that is not; honours cpu', () => {
    const code = `import { initBackend } from './src-main/ml/backend.ts';
      initBackend().then((i) => console.log(JSON.stringify(i)), (e) => { console.log('ERR ' + e.message); });`;
    const run = (b: string) =>
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        cwd: repo,
        env: { ...process.env, PLUMAGE_BACKEND: b },
        encoding: 'utf8',
      }).trim();
    for (const name of ['gpu', 'node'] as const) {
      const missing = nativeMissing(name);
      if (name === 'gpu' && !missing) continue; // a CUDA machine: starting it here is the suite's job
      const out = run(name);
      if (missing) expect(out).toBe(`ERR PLUMAGE_BACKEND=${name} is not available here: ${missing}`);
      else expect(JSON.parse(out)).toMatchObject({ name, version: expect.stringMatching(/libtensorflow \d/) });
    }
    expect(JSON.parse(run('cpu')).name).toBe('cpu');
  });

  it('gather has a gradient on wasm (UnsortedSegmentSum), summing duplicate indices', () => {
    const g = tf.grad((w: tf.Tensor) => tf.gather(w, tf.tensor1d([0, 2, 2], 'int32')).sum())(tf.ones([3, 2]));
    expect(g.arraySync()).toEqual([
      [1, 1],
      [0, 0],
      [2, 2],
    ]);
  });
});

describe('matMul primitives', () => {
  it('untrackedTranspose adds exactly one tensor, which the enclosing tidy frees', () => {
    const W = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const t = untrackedTranspose(W);
      expect(t.shape).toEqual([3, 2]);
      expect(Array.from(t.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
      // kernels that return an engine-tracked Tensor (tfjs-node) must not be wrapped a second time
      expect(tf.memory().numTensors).toBe(before + 1);
    });
    expect(tf.memory().numTensors).toBe(before);
    W.dispose();
  });

  it('mm, mmNT and mmNN compute the products of tf.matMul', () => {
    const a = rand([5, 4], 1);
    const b = rand([4, 3], 2);
    const W = rand([3, 4], 3);
    expect(close(mm(a, b).dataSync(), tf.matMul(a, b).dataSync(), 1e-6)).toBe(true);
    expect(close(mmNT(a, W).dataSync(), tf.matMul(a, W, false, true).dataSync(), 1e-6)).toBe(true);
    const g = rand([5, 3], 4);
    expect(close(mmNN(g, W, untrackedTranspose(W)).dataSync(), tf.matMul(g, W).dataSync(), 1e-6)).toBe(true);
  });

  it('products with every dimension ≥ 512 (2-D MatMul on tfjs-node) and their gradients match tf.matMul', () => {
    const maxRel = (x: ArrayLike<number>, y: ArrayLike<number>) => {
      let d = 0;
      let m = 1e-12;
      for (let i = 0; i < y.length; i++) {
        d = Math.max(d, Math.abs(x[i] - y[i]));
        m = Math.max(m, Math.abs(y[i]));
      }
      return d / m;
    };
    tf.tidy(() => {
      const a = rand([512, 520], 11);
      const W = rand([530, 520], 12);
      const b = rand([520, 530], 13);
      const c = rand([512, 530], 14);
      expect(maxRel(mm(a, b).dataSync(), tf.matMul(a, b).dataSync())).toBeLessThan(1e-5);
      expect(maxRel(mmNT(a, W).dataSync(), tf.matMul(a, W, false, true).dataSync())).toBeLessThan(1e-5);
      expect(maxRel(mmTN(a, c).dataSync(), tf.matMul(a, c, true, false).dataSync())).toBeLessThan(1e-5);
      expect(maxRel(mmNN(c, W, untrackedTranspose(W)).dataSync(), tf.matMul(c, W).dataSync())).toBeLessThan(1e-5);
      const ours = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(mmNT(x, w), c)))([a, W]);
      const want = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, w, false, true), c)))([a, W]);
      ours.forEach((g, i) => expect(maxRel(g.dataSync(), want[i].dataSync())).toBeLessThan(1e-5));
    });
  });

  it('first- and second-order gradients through mmNT / mmNN match finite differences', () => {
    const W = rand([3, 4], 5);
    const a0 = rand([2, 4], 6);
    // s(a, W) = Σ tanh(a W^T); q(W) = Σ (∂s/∂a)² — the shape of a Grad-CAM loss
    const q = (w: tf.Tensor) =>
      tf.tidy(() =>
        tf
          .grad((a: tf.Tensor) => tanh(mmNT(a, w, untrackedTranspose(w))).sum())(a0)
          .square()
          .sum(),
      );
    const dq = tf.grad(q)(W).dataSync();
    const base = W.dataSync().slice();
    const h = 1e-2;
    for (const i of [0, 5, 11]) {
      const at = (d: number) => {
        const x = base.slice();
        x[i] += d;
        return q(tf.tensor(x, W.shape)).dataSync()[0];
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(fd - dq[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(dq[i])));
    }
  });
});

describe('lean gradients of add, sub, mul and identity', () => {
  // broadcast in every direction: [3,4] with [4], [1,4], [3,1] and a scalar
  const shapes: [number[], number[]][] = [
    [[3, 4], [3, 4]],
    [[3, 4], [4]],
    [[1, 4], [3, 4]],
    [[3, 1], [3, 4]],
    [[3, 4], []],
  ];
  // first and second order: g = ∂f/∂a, then ∂(Σ g²)/∂(a, b)
  const f = (a: tf.Tensor, b: tf.Tensor) => tanh(tf.add(tf.mul(tf.sub(a, b), tf.add(a, b)), tf.clone(a))).sum();
  const grads = () =>
    shapes.map(([sa, sb], i) =>
      tf.tidy(() => {
        const [a, b] = [rand(sa, 10 + i), rand(sb, 20 + i)];
        const first = tf.grads(f)([a, b]);
        const second = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.grad((u: tf.Tensor) => f(u, y))(x).square().sum())([a, b]);
        return [...first, ...second].map((g) => Array.from(g.dataSync()));
      }),
    );

  it("give TF.js's own gradients, broadcasts included, to any order", () => {
    useLeanGradients(false);
    const want = grads();
    useLeanGradients(true);
    const got = grads();
    got.forEach((gs, i) => gs.forEach((g, j) => expect(close(g, want[i][j], 1e-6)).toBe(true)));
  });

  it('run no cast and no reshape for a float32 product or sum of equal shapes', async () => {
    const [a, b] = [rand([3, 4], 1), rand([3, 4], 2)];
    const info = await tf.profile(() => {
      tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.add(tf.mul(x, y), tf.sub(x, y)).sum())([a, b]);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('Multiply');
    expect(names).not.toContain('Cast');
    // the only reshape left is the one of sum's own gradient
    expect(names.filter((n) => n === 'Reshape').length).toBeLessThanOrEqual(1);
  });
});

describe('activations: nested tf.grad gives exact second derivatives', () => {
  const xs = [-2.3, -0.4, 0.1, 0.9, 3.1];
  const x = tf.tensor1d(xs);
  const second = (f: (t: tf.Tensor) => tf.Tensor) =>
    tf
      .grad((z: tf.Tensor) =>
        tf
          .grad((y: tf.Tensor) => f(y).sum())(z)
          .sum(),
      )(x)
      .dataSync();

  it('sigmoid', () => {
    const want = xs.map((v) => {
      const s = 1 / (1 + Math.exp(-v));
      return s * (1 - s) * (1 - 2 * s);
    });
    expect(close(second(sigmoid), want, 1e-5)).toBe(true);
  });

  it('tanh', () => {
    const want = xs.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2));
    expect(close(second(tanh), want, 1e-5)).toBe(true);
  });

  it('sigmoid and tanh with an upstream gradient that depends on x (both inputs of the gradient op)', () => {
    // d/dx of ∂/∂x Σ f(x)·x = f''(x)·x + 2 f'(x)
    const both = (f: (t: tf.Tensor) => tf.Tensor) =>
      tf
        .grad((z: tf.Tensor) =>
          tf
            .grad((y: tf.Tensor) => f(y).mul(y).sum())(z)
            .sum(),
        )(x)
        .dataSync();
    const sig = xs.map((v) => {
      const s = 1 / (1 + Math.exp(-v));
      return s * (1 - s) * (1 - 2 * s) * v + 2 * s * (1 - s);
    });
    const th = xs.map((v) => {
      const t = Math.tanh(v);
      return -2 * t * (1 - t * t) * v + 2 * (1 - t * t);
    });
    expect(close(both(sigmoid), sig, 1e-5)).toBe(true);
    expect(close(both(tanh), th, 1e-5)).toBe(true);
  });

  it('logSoftmax / logSumExp: Hessian-vector products', () => {
    // d/dx_j of Σ_i (∂ lse/∂x_i)·c_i = Σ_i c_i (p_i δ_ij − p_i p_j)
    const c = [0.3, -1, 2, 0.5, -0.2];
    const e = xs.map(Math.exp);
    const Z = e.reduce((a, b) => a + b);
    const p = e.map((v) => v / Z);
    const cp = c.reduce((a, ci, i) => a + ci * p[i], 0);
    const want = p.map((pj, j) => c[j] * pj - pj * cp);
    const ct = tf.tensor1d(c);
    const got = tf
      .grad((z: tf.Tensor) =>
        tf
          .grad((y: tf.Tensor) => logSumExp(y).sum())(z)
          .mul(ct)
          .sum(),
      )(x)
      .dataSync();
    expect(close(got, want, 1e-5)).toBe(true);
    const got2 = tf.grad((z: tf.Tensor) =>
      tf
        .grad((y: tf.Tensor) => logSoftmax(y).mul(ct).sum())(z)
        .square()
        .sum(),
    )(x);
    expect(Array.from(got2.dataSync()).every(Number.isFinite)).toBe(true);
  });

  it('TF.js built-in sigmoid cannot do this (why ops.ts exists)', () => {
    let builtin: number[] | null;
    try {
      builtin = Array.from(second(tf.sigmoid));
    } catch {
      builtin = null;
    }
    const want = xs.map((v) => {
      const s = 1 / (1 + Math.exp(-v));
      return s * (1 - s) * (1 - 2 * s);
    });
    expect(builtin === null || !close(builtin, want, 1e-3)).toBe(true);
  });
});

describe('target log-probability without a one-hot', () => {
  // the reference: logSoftmax (exact to any order, tested above) picked with a one-hot
  const idx = tf.tensor1d([3, 0, 6, 3, 1], 'int32');
  const oneHotPick = (z: tf.Tensor) => tf.sum(tf.mul(logSoftmax(z), tf.oneHot(idx, 7)), 1);
  const pick = (z: tf.Tensor): tf.Tensor => pickLogSoftmax(z as tf.Tensor2D, idx);
  const w = rand([5], 12);
  const v = rand([5, 7], 13);
  const score = (f: typeof pick) => (z: tf.Tensor) => tf.sum(tf.mul(f(z), w));
  /** d/dx of <∂score/∂x, v>: a Hessian-vector product. */
  const hv = (f: typeof pick) => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.grad(score(f))(z), v)));

  it('pickLogSoftmax gives the one-hot pick of logSoftmax, and its first and second derivatives', () => {
    const x = tf.mul(rand([5, 7], 11), 3);
    expect(close(pick(x).dataSync(), oneHotPick(x).dataSync(), 1e-6)).toBe(true);
    expect(close(tf.grad(score(pick))(x).dataSync(), tf.grad(score(oneHotPick))(x).dataSync(), 1e-5)).toBe(true);
    const want = hv(oneHotPick)(x).dataSync();
    expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(1e-2);
    expect(close(hv(pick)(x).dataSync(), want, 1e-5)).toBe(true);
  });
});

describe('embedding lookup', () => {
  it('gathers rows and scatter-adds the gradient (duplicates summed)', () => {
    const W = rand([4, 3], 9);
    const ids = tf.tensor1d([3, 1, 3], 'int32');
    expect(close(embed(W as tf.Tensor2D, ids).dataSync(), tf.gather(W, ids).dataSync(), 1e-9)).toBe(true);
    const g = tf.grad((w: tf.Tensor) =>
      embed(w as tf.Tensor2D, ids)
        .mul(
          tf.tensor2d([
            [1, 1, 1],
            [2, 2, 2],
            [3, 3, 3],
          ]),
        )
        .sum(),
    )(W);
    expect(g.arraySync()).toEqual([
      [0, 0, 0],
      [2, 2, 2],
      [0, 0, 0],
      [4, 4, 4],
    ]);
  });
});
