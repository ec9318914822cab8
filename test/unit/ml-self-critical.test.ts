/**
 * Self-critical training's parts that are not gradients (those are in ml-gradcheck.test.ts): the
 * words it scores, CIDEr-D with the training set's document frequencies against the metrics'
 * own CIDEr-D, the seeded sampling of captions, the advantages, and that the option reaches a run.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TrainConfig } from '../../src-main/jobs/train/config.ts';
import { regularisation } from '../../src-main/jobs/train/loop.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import { ciderD } from '../../src-main/ml/metrics/cider.ts';
import { NgramInterner } from '../../src-main/ml/metrics/ngrams.ts';
import { BOS, EOS, PAD, UNK, capPrep, initParams, pooled, teacherForced, type ModelDims } from '../../src-main/ml/model.ts';
import { advantages, captionWords, ciderDOf, docFreq, leaveOneOutAdvantages, sampledCaptions, sampleSeed } from '../../src-main/ml/self-critical.ts';
import { rng } from '../../src-main/ml/model.ts';

beforeAll(async () => {
  process.env.PLUMAGE_BACKEND = process.env.PLUMAGE_BACKEND || 'wasm';
  await initBackend();
});

describe('the words it scores', () => {
  it('are those between BOS and EOS or PAD, UNK included', () => {
    expect(captionWords([BOS, 5, UNK, 6, EOS, 7, PAD])).toEqual([5, UNK, 6]);
    expect(captionWords([BOS, 4, 4, PAD, 9])).toEqual([4, 4]);
    expect(captionWords([BOS, EOS, PAD])).toEqual([]);
    expect(captionWords([PAD, PAD, PAD])).toEqual([]);
  });
});

describe('CIDEr-D with given document frequencies', () => {
  // three photos, their references and candidates as word ids (written as words for the metric)
  const refs = [
    [[4, 5, 6, 7], [4, 5, 8], [9, 5, 6, 7, 10]],
    [[4, 11, 12], [11, 12, 13, 4]],
    [[5, 6, 7, 4, 5], [14, 15]],
  ];
  const cands = [[4, 5, 6, 7, 4], [11, 12], [5, 6, 14, 15, 16]];

  it("equals the metrics' CIDEr-D when the frequencies are those of the scored references", () => {
    const interner = new NgramInterner();
    const words = (ids: number[]) => ids.map(String);
    const candBags = cands.map((c) => interner.bag(words(c), 4));
    const refBags = refs.map((rs) => rs.map((r) => interner.bag(words(r), 4)));
    const want = ciderD(candBags, refBags, interner.size);
    const df = docFreq(refs);
    cands.forEach((c, i) => expect(ciderDOf(c, refs[i], df)).toBeCloseTo(want[i], 10));
    expect(want.every((x) => x > 0)).toBe(true);
  });

  it('counts photos, not occurrences, and scores nothing without references', () => {
    const df = docFreq(refs);
    expect(df.photos).toBe(3);
    expect(df.counts.get('4')).toBe(3);
    expect(df.counts.get('5,6,7')).toBe(2);
    expect(df.counts.get('11,12')).toBe(1);
    expect(ciderDOf([4, 5], [], df)).toBe(0);
  });
});

describe('sampled captions', () => {
  const dims: ModelDims = { K: 5, D: 4, E: 4, Hd: 5, V: 9, C: 2 };
  const featOf = (B: number) => pooled(tf.tensor4d(Float32Array.from({ length: B * 2 * 2 * 5 }, rng(3)), [B, 2, 2, 5]));

  it('are the same for the same seed, others for another, and each row is the whole batch row of its own stream', () => {
    const P = initParams('lrcn', dims, 5);
    const cp = capPrep(P);
    const feat = featOf(6);
    const a = sampledCaptions(cp, feat, 8, { seed: 1 }).arraySync();
    expect(sampledCaptions(cp, feat, 8, { seed: 1 }).arraySync()).toEqual(a);
    expect(sampledCaptions(cp, feat, 8, { seed: 2 }).arraySync()).not.toEqual(a);
    // rows 2… of the batch on their own, told where they start, draw what the whole batch drew
    const part = sampledCaptions(cp, tf.slice(feat, [2, 0], [4, -1]), 8, { seed: 1, firstRow: 2 }).arraySync();
    expect(part).toEqual(a.slice(2));
    // the form of a caption: BOS first, never PAD or BOS drawn, PAD only after EOS
    for (const row of a) {
      expect(row[0]).toBe(BOS);
      const end = row.indexOf(EOS);
      row.slice(1, end < 0 ? undefined : end).forEach((w) => expect(w).toBeGreaterThan(BOS));
      if (end >= 0) row.slice(end + 1).forEach((w) => expect(w).toBe(PAD));
    }
    tf.dispose(Object.values(P));
  });

  it("draw the first word as often as the captioner's softmax says", () => {
    const P = initParams('lrcn', dims, 5);
    const cp = capPrep(P);
    const n = 3000;
    const feat = tf.tile(featOf(1), [n, 1]);
    const first = (sampledCaptions(cp, feat, 3, { seed: 7 }).arraySync() as number[][]).map((r) => r[1]);
    // the first word's distribution: teacher forcing from BOS, PAD and BOS banned
    const logits = teacherForced(cp, featOf(1), tf.tensor2d([[BOS, EOS]], [1, 2], 'int32')).arraySync()[0];
    const allowed = logits.map((l, w) => (w === PAD || w === BOS ? -Infinity : l));
    const z = allowed.reduce((s, l) => s + Math.exp(l), 0);
    allowed.forEach((l, w) => {
      const p = Math.exp(l) / z;
      const seen = first.filter((x) => x === w).length / n;
      // four standard errors of a share of n draws
      expect(Math.abs(seen - p), `word ${w}: p ${p}, seen ${seen}`).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n) + 1e-9);
    });
    tf.dispose(Object.values(P));
  });
});

describe('advantages', () => {
  // two photos' references [2,2,T], the second photo's second row unused (all PAD)
  const T = 6;
  const row = (...ids: number[]) => [...ids, ...Array(T - ids.length).fill(PAD)];
  const refs = [
    [row(BOS, 4, 5, 6, EOS), row(BOS, 4, 7, EOS)],
    [row(BOS, 8, 9, EOS), row()],
  ];
  const df = docFreq([[[4, 5, 6], [4, 7]], [[8, 9]], [[10]]]);

  it("are each row's sample's CIDEr-D minus its greedy caption's, all-PAD reference rows left out", () => {
    const sample = [row(BOS, 4, 5, 6, EOS), row(BOS, 9, EOS)];
    const greedy = [row(BOS, 7, 7, EOS), row(BOS, 8, 9, EOS)];
    const got = advantages(
      Int32Array.from(sample.flat()),
      Int32Array.from(greedy.flat()),
      Int32Array.from(refs.flat(2)),
      [2, 2, T],
      df,
    );
    const want0 = ciderDOf([4, 5, 6], [[4, 5, 6], [4, 7]], df) - ciderDOf([7, 7], [[4, 5, 6], [4, 7]], df);
    const want1 = ciderDOf([9], [[8, 9]], df) - ciderDOf([8, 9], [[8, 9]], df);
    expect(got[0]).toBeCloseTo(want0, 5);
    expect(got[1]).toBeCloseTo(want1, 5);
    expect(got[0]).toBeGreaterThan(0);
    expect(got[1]).toBeLessThan(0);
    // to the bit: the difference taken in double precision and rounded once, so recorded runs reproduce
    expect(got[0]).toBe(Math.fround(want0));
    expect(got[1]).toBe(Math.fround(want1));
  });

  it("with several samples per photo, are each sample's CIDEr-D minus the mean of the photo's other samples", () => {
    const samples = [
      [row(BOS, 4, 5, 6, EOS), row(BOS, 9, EOS)],
      [row(BOS, 7, 7, EOS), row(BOS, 8, 9, EOS)],
      [row(BOS, 4, 7, EOS), row(BOS, 10, EOS)],
    ];
    const got = leaveOneOutAdvantages(samples.map((s) => Int32Array.from(s.flat())), Int32Array.from(refs.flat(2)), [2, 2, T], df);
    const score = [
      [[4, 5, 6], [7, 7], [4, 7]].map((c) => ciderDOf(c, [[4, 5, 6], [4, 7]], df)),
      [[9], [8, 9], [10]].map((c) => ciderDOf(c, [[8, 9]], df)),
    ];
    for (let j = 0; j < 3; j++)
      for (let b = 0; b < 2; b++) {
        const others = score[b].filter((_, i) => i !== j);
        expect(got[j][b], `sample ${j}, row ${b}`).toBeCloseTo(score[b][j] - (others[0] + others[1]) / 2, 5);
      }
    // to the bit: each score rounded to float32 before the baseline is taken, so recorded runs reproduce
    const f = score.map((row) => row.map(Math.fround));
    const total = f.map((row) => row[0] + row[1] + row[2]);
    for (let j = 0; j < 3; j++) for (let b = 0; b < 2; b++) expect(got[j][b]).toBe(Math.fround(f[b][j] - (total[b] - f[b][j]) / 2));
    // a photo's advantages sum to zero, however good or bad its samples are
    for (let b = 0; b < 2; b++) expect(got[0][b] + got[1][b] + got[2][b]).toBeCloseTo(0, 5);
    expect(() => leaveOneOutAdvantages([Int32Array.from(samples[0].flat())], Int32Array.from(refs.flat(2)), [2, 2, T], df)).toThrow(/2 samples/);
  });
});

describe("a photo's several samples", () => {
  it('draw the first as a single sample does, the others from streams of their own', () => {
    expect(sampleSeed(7, 0)).toBe(7);
    const seeds = [0, 1, 2, 3].map((j) => sampleSeed(7, j));
    expect(new Set(seeds).size).toBe(4);
    expect(sampleSeed(8, 1)).not.toBe(sampleSeed(7, 1));
  });
});

describe('the option in a run (that it changes what a run learns: train-levers.test.ts)', () => {
  it('draws on a seed stream of its own per step, and needs the references', () => {
    const cfg: TrainConfig = { ...DEFAULT_CONFIG, variant: 'lrcn', selfCritical: 2, scheduledSampling: 0.2 };
    const df = docFreq([[[4]]]);
    const r = regularisation(cfg, 3, () => df)!;
    expect(r.selfCritical).toMatchObject({ weight: 2, docFreq: df });
    expect(regularisation(cfg, 3, () => df)!.selfCritical!.seed).toBe(r.selfCritical!.seed);
    expect(regularisation(cfg, 4, () => df)!.selfCritical!.seed).not.toBe(r.selfCritical!.seed);
    expect(r.selfCritical!.seed).not.toBe(r.sampling!.seed);
    expect(() => regularisation(cfg, 3)).toThrow(/references/);
    expect(regularisation({ ...cfg, selfCritical: 0, scheduledSampling: 0 }, 3)).toBeUndefined();
    // one sample per photo (the greedy baseline) unless asked for more
    expect(r.selfCritical!.samples).toBeUndefined();
    expect(regularisation({ ...cfg, selfCriticalSamples: 4 }, 3, () => df)!.selfCritical).toMatchObject({ weight: 2, samples: 4 });
  });

});
