/**
 * Data parallelism over worker threads (jobs/train/grad-workers.ts): a step whose batch is split
 * over 2 or 3 workers gives the single-thread step's gradients, losses and predictions, and a
 * worker that dies or fails turns into a one-line error instead of a hang (also when the other
 * parts already wait at the barrier of the shared gradient sum).
 *
 * Tolerance: the parts compute the same terms, only the float32 sums over rows are grouped
 * differently (each worker sums its rows, then the parts are added) and each part's mean is
 * rescaled by its share. Each reordered sum of n float32 terms moves by at most ~n·u·Σ|terms|
 * (u = 2⁻²⁴ ≈ 6e-8); through the second-order CAM chain that amounts to a few hundred u relative
 * to a parameter's largest gradient. Observed: ≤ 3.5e-7 on wasm and tfjs-node (WORKERS_DEBUG=1 prints it);
 * TOL = 1e-5 (~170 u, ~30× the observed), while a part left out moves it by > 10% (tested below).
 * With the batch cut at the same rows in one thread (`microBatch` = the part size) the arithmetic
 * is the same sums in the same order, so those gradients must agree exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { algorithm1Grads, type Batch, type StepOptions, type StepResult } from '../../src-main/ml/algorithm1.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import { BOS, EOS, FIRST_WORD, PAD, type ModelDims, type Params, initParams, rng } from '../../src-main/ml/model.ts';
import { GradientWorkers, SPLIT_MIN_FLOPS, splitRows, stepWorkers, targetTokens } from '../../src-main/jobs/train/grad-workers.ts';
import { runTraining } from '../../src-main/jobs/train/loop.ts';
import type { TrainEvent } from '../../shared/types.ts';
import { trainFixture } from '../helpers/train-fixture.ts';

const TOL = 1e-5;
const dims: ModelDims = { K: 12, D: 10, E: 6, Hd: 9, V: 17, C: 5 };
const B = 7;
const T = 7;
const HW = 3;

function makeBatch(seed: number): Batch {
  const r = rng(seed);
  const A = tf.tensor4d(Float32Array.from({ length: B * HW * HW * dims.K }, () => r()), [B, HW, HW, dims.K]);
  const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % dims.C), 'int32');
  const caps = new Int32Array(B * T).fill(PAD);
  for (let b = 0; b < B; b++) {
    const n = 1 + (b % (T - 2)); // captions of different lengths: the parts carry different token counts
    caps[b * T] = BOS;
    for (let i = 1; i <= n; i++) caps[b * T + i] = FIRST_WORD + Math.floor(r() * (dims.V - FIRST_WORD));
    caps[b * T + n + 1] = EOS;
  }
  const masks = tf.tensor3d(Float32Array.from({ length: B * HW * HW }, () => (r() > 0.5 ? 1 : 0)), [B, HW, HW]);
  const maskRows = tf.tensor1d(Array.from({ length: B }, (_, i) => (i % 3 === 0 ? 0 : 1)));
  return { A, labels, captions: tf.tensor2d(caps, [B, T], 'int32'), masks, maskRows };
}

/** Largest |a − b| over a parameter's entries, relative to its largest |a|. */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(x[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

const dispose = (r: StepResult) =>
  tf.dispose([...Object.values(r.grads), r.classPred, r.predCaptions].filter((t): t is tf.Tensor => !!t));

let backend = '';
let P: Params;
let batch: Batch;
const opts: StepOptions = { lambda: 1, mu: 0.5 };
const pools: GradientWorkers[] = [];

beforeAll(async () => {
  backend = (await initBackend()).name;
  P = initParams('cam', dims, 3);
  batch = makeBatch(4);
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  tf.dispose([...Object.values(P), ...Object.values(batch)].filter((t): t is tf.Tensor => !!t));
});

describe('data parallelism over worker threads', () => {
  it('splits rows into contiguous, even, non-empty parts', () => {
    expect(splitRows(7, 2)).toEqual([
      { start: 0, count: 4 },
      { start: 4, count: 3 },
    ]);
    expect(splitRows(7, 3).map((p) => p.count)).toEqual([3, 2, 2]);
    expect(splitRows(2, 4)).toEqual([
      { start: 0, count: 1 },
      { start: 1, count: 1 },
    ]);
  });

  it('defaults to every core on wasm for big steps only, to 1 on tfjs-node, never more than the rows', () => {
    const cores = Math.min(availableParallelism(), 128);
    expect(stepWorkers('wasm', 128, SPLIT_MIN_FLOPS)).toBe(cores);
    expect(stepWorkers('wasm', 128, SPLIT_MIN_FLOPS / 10)).toBe(1);
    expect(stepWorkers('node', 128, SPLIT_MIN_FLOPS * 10)).toBe(1);
    expect(stepWorkers('node', 128, 0, 3)).toBe(3);
    expect(stepWorkers('wasm', 2, 0, 8)).toBe(2);
  });

  for (const n of [2, 3]) {
    it(`a cam step (with masks) over ${n} workers gives the one-thread gradients`, async () => {
      const pool = await GradientWorkers.start(P, n, backend);
      pools.push(pool);
      const one = algorithm1Grads(P, 'cam', batch, { ...opts, microBatch: Infinity });
      const many = await pool.grads(P, 'cam', batch, opts);
      // same-row cut in one thread: the same float32 sums in the same order
      const cut = algorithm1Grads(P, 'cam', batch, { ...opts, microBatch: splitRows(B, n)[0].count });
      try {
        expect(Object.keys(many.grads).sort()).toEqual(Object.keys(one.grads).sort());
        let worst = 0;
        for (const name of Object.keys(one.grads)) {
          const e = relErr(one.grads[name], many.grads[name]);
          worst = Math.max(worst, e);
          expect(e, name).toBeLessThan(TOL);
        }
        if (process.env.WORKERS_DEBUG) console.log(`${n} workers: worst relative gradient difference ${worst}`);
        for (const k of ['class', 'caption', 'cam', 'mask', 'total'] as const)
          expect(Math.abs(many.losses[k] - one.losses[k]), k).toBeLessThan(TOL * Math.max(1, Math.abs(one.losses[k])));
        expect(one.losses.cam).toBeGreaterThan(0);
        expect(one.losses.mask).toBeGreaterThan(0);
        expect(Array.from(many.classPred!.dataSync())).toEqual(Array.from(one.classPred!.dataSync()));
        expect(Array.from(many.predCaptions!.dataSync())).toEqual(Array.from(one.predCaptions!.dataSync()));
        if (n === 2)
          for (const name of Object.keys(cut.grads))
            expect(Array.from(many.grads[name].dataSync()), name).toEqual(Array.from(cut.grads[name].dataSync()));
      } finally {
        [one, many, cut].forEach(dispose);
      }
    });
  }

  it("a self-critical step over 2 workers gives the one-thread gradients: each row's references travel with it", async () => {
    const pool = await GradientWorkers.start(P, 2, backend);
    pools.push(pool);
    const caps = batch.captions.arraySync() as number[][];
    const withRefs: Batch = { ...batch, references: tf.tensor3d(caps.map((c, b) => [c, caps[(b + 3) % B]]), [B, 2, T], 'int32') };
    const docFreq = { counts: new Map([['4', 2], ['5,6', 1]]), photos: 3 };
    const o: StepOptions = { ...opts, regularise: { selfCritical: { weight: 2, seed: 5, docFreq } } };
    const one = algorithm1Grads(P, 'cam', withRefs, { ...o, microBatch: Infinity });
    const many = await pool.grads(P, 'cam', withRefs, o);
    const plain = algorithm1Grads(P, 'cam', withRefs, { ...opts, microBatch: Infinity });
    try {
      for (const name of Object.keys(one.grads)) expect(relErr(one.grads[name], many.grads[name]), name).toBeLessThan(TOL);
      // the term acted
      expect(relErr(one.grads['cap.out.weight'], plain.grads['cap.out.weight'])).toBeGreaterThan(1e-3);
    } finally {
      [one, many, plain].forEach(dispose);
      withRefs.references!.dispose();
    }
  });

  it('a part left out is caught by the tolerance', async () => {
    const one = algorithm1Grads(P, 'cam', batch, { ...opts, microBatch: Infinity });
    const [a, b] = splitRows(B, 2);
    const half = algorithm1Grads(P, 'cam', batch, { ...opts, microBatch: a.count });
    // the first part alone: the second part's rows, weighted as in the whole batch, are missing
    const first = algorithm1Grads(
      P,
      'cam',
      {
        A: tf.slice(batch.A!, 0, a.count),
        labels: tf.slice(batch.labels, 0, a.count),
        captions: tf.slice(batch.captions, 0, a.count),
        masks: tf.slice(batch.masks!, 0, a.count),
        maskRows: tf.slice(batch.maskRows!, 0, a.count),
      },
      { ...opts, share: { offset: 0, rows: B, tokens: targetTokens(batch.captions.dataSync() as Int32Array, T) } },
    );
    try {
      expect(b.count).toBeGreaterThan(0);
      const worst = Math.max(...Object.keys(one.grads).map((n) => relErr(one.grads[n], first.grads[n] ?? tf.zerosLike(one.grads[n]))));
      expect(worst).toBeGreaterThan(0.1);
      const same = Math.max(...Object.keys(one.grads).map((n) => relErr(one.grads[n], half.grads[n])));
      expect(same).toBeLessThan(TOL);
    } finally {
      [one, half, first].forEach(dispose);
    }
  });

  it('a worker that dies fails the step with a one-line error, and later steps too', async () => {
    const pool = await GradientWorkers.start(P, 2, backend);
    pools.push(pool);
    await pool.workers[1].terminate();
    await expect(pool.grads(P, 'cam', batch, opts)).rejects.toThrow(/^training worker 2 stopped: it exited \(code 1\)$/);
    await expect(pool.grads(P, 'cam', batch, opts)).rejects.toThrow(/training worker 2 stopped/);
  });

  it("a worker's failing step is an error of that step, and close() ends every worker", async () => {
    const pool = await GradientWorkers.start(P, 2, backend);
    const bad = { ...batch, A: tf.zeros([B, HW, HW, dims.K + 1]) as tf.Tensor4D };
    try {
      await expect(pool.grads(P, 'cam', bad, opts)).rejects.toThrow();
    } finally {
      bad.A.dispose();
    }
    const exited = pool.workers.map((w) => new Promise<number>((r) => w.once('exit', r)));
    await pool.close();
    expect((await Promise.all(exited)).length).toBe(2);
    await expect(pool.grads(P, 'cam', batch, opts)).rejects.toThrow('the training workers were closed');
  });

  it('a part that fails releases the others waiting at the barrier: its error fails the step, the next step is right', async () => {
    const pool = await GradientWorkers.start(P, 2, backend);
    pools.push(pool);
    // a word id past the vocabulary in the last row: only the second part's embedding lookup throws,
    // while the first part has written its gradients and waits for it
    const caps = batch.captions.arraySync() as number[][];
    caps[B - 1][1] = dims.V + 3;
    const bad = { ...batch, captions: tf.tensor2d(caps, [B, T], 'int32') };
    try {
      await expect(pool.grads(P, 'cam', bad, opts)).rejects.toThrow(/GatherV2/);
    } finally {
      bad.captions.dispose();
    }
    const many = await pool.grads(P, 'cam', batch, opts);
    const cut = algorithm1Grads(P, 'cam', batch, { ...opts, microBatch: splitRows(B, 2)[0].count });
    try {
      for (const name of Object.keys(cut.grads))
        expect(Array.from(many.grads[name].dataSync()), name).toEqual(Array.from(cut.grads[name].dataSync()));
    } finally {
      [many, cut].forEach(dispose);
    }
  });

  it('a batch with fewer rows than workers is computed by as many workers as it has rows', async () => {
    const pool = await GradientWorkers.start(P, 3, backend);
    pools.push(pool);
    const two: Batch = {
      A: tf.slice(batch.A!, 0, 2),
      labels: tf.slice(batch.labels, 0, 2),
      captions: tf.slice(batch.captions, 0, 2),
      masks: tf.slice(batch.masks!, 0, 2),
      maskRows: tf.slice(batch.maskRows!, 0, 2),
    };
    const many = await pool.grads(P, 'cam', two, opts);
    const cut = algorithm1Grads(P, 'cam', two, { ...opts, microBatch: 1 });
    try {
      expect(Object.keys(many.grads).sort()).toEqual(Object.keys(cut.grads).sort());
      for (const name of Object.keys(cut.grads))
        expect(Array.from(many.grads[name].dataSync()), name).toEqual(Array.from(cut.grads[name].dataSync()));
    } finally {
      [many, cut].forEach(dispose);
      tf.dispose(Object.values(two).filter((t): t is tf.Tensor => !!t));
    }
  });

  it('a training run on 2 workers takes the steps of a run on 1 (losses to float32 order) and says so', async () => {
    const cfg = { variant: 'cam' as const, encoder: 'test_enc', dims: 'tiny' as const, epochs: 1, batch: 5, lr: 0.01, optimizer: 'sgd' as const, seed: 3, maxLen: 8 };
    const run = async (workers: number) => {
      const events: TrainEvent[] = [];
      const res = await runTraining({ home: trainFixture(), config: cfg, workers, onEvent: (e) => events.push(e) });
      expect(res.status).toBe('done');
      return events;
    };
    const one = await run(1);
    const two = await run(2);
    const steps = (ev: TrainEvent[]) => ev.filter((e) => e.type === 'step').map((e) => e.losses!);
    expect(steps(two).length).toBe(3);
    expect(steps(two).length).toBe(steps(one).length);
    steps(one).forEach((l, i) => {
      for (const k of ['class', 'caption', 'cam', 'total'] as const)
        expect(Math.abs(steps(two)[i][k] - l[k]), `step ${i + 1} ${k}`).toBeLessThan(TOL * Math.max(1, Math.abs(l[k])));
    });
    const logs = (ev: TrainEvent[]) => ev.filter((e) => e.type === 'log').map((e) => e.message);
    expect(logs(two)).toContain('each step is computed in 2 parts on 2 worker threads');
    expect(logs(one).some((m) => m?.includes('worker threads'))).toBe(false);
  });
});
