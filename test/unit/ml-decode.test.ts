/**
 * Greedy decoding per contract (checked against an independent plain-JS float64 LSTM), beam
 * search (width 1 = greedy; n-gram blocking; length normalisation), and the vocabulary.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/ml/backend.ts';
import {
  CONTRAST_PLAUSIBILITY,
  PRODUCT_DECODING,
  beamSearch,
  blockedTokens,
  describeDecoding,
  normalisedScore,
  productDecode,
  productSettings,
} from '../../src-main/ml/decode.ts';
import { repetitionScores } from '../../src-main/ml/metrics/index.ts';
import {
  BOS,
  EOS,
  PAD,
  type ModelDims,
  type Params,
  capPrep,
  captionScores,
  feature,
  greedyDecode,
  initParams,
  rng,
  teacherForced,
} from '../../src-main/ml/model.ts';
import { buildVocab, decode, encode, tokenize, vocabFromJSON, vocabToJSON } from '../../src-main/ml/vocab.ts';

const dims: ModelDims = { K: 6, D: 8, E: 5, Hd: 7, V: 9, C: 3 };
const T = 7;

beforeAll(async () => {
  await initBackend();
});

/** Plain-JS greedy decode straight from the PyTorch-layout weights (float64, jsCaptioner below). */
function jsGreedy(P: Params, feat: number[][]): number[][] {
  const step = jsCaptioner(P);
  const Hd = P['cap.lstm.weight_hh_l0'].shape[1] as number;
  return feat.map((f) => {
    let st = { s: new Array(Hd).fill(0), c: new Array(Hd).fill(0) };
    let tok = BOS;
    let done = false;
    const out = [BOS];
    for (let t = 0; t < T - 1; t++) {
      const x = step(tok, f, st);
      st = x.st;
      let best = -1;
      for (let w = 0; w < x.lp.length; w++) if (w !== PAD && w !== BOS && (best < 0 || x.lp[w] > x.lp[best])) best = w;
      const next = done ? PAD : best;
      out.push(next);
      if (next === EOS) done = true;
      tok = next;
    }
    return out;
  });
}

function setBias(P: Params, values: Record<number, number>) {
  const b = P['cap.out.bias'].dataSync().slice();
  for (const [k, v] of Object.entries(values)) b[Number(k)] = v;
  P['cap.out.bias'].assign(tf.tensor1d(b));
}

describe('greedy decode (contract)', () => {
  it('matches an independent float64 implementation on random weights', () => {
    for (const seed of [1, 2, 3]) {
      const P = initParams('cam', dims, seed);
      const r = rng(seed + 50);
      const v = tf.tensor2d(
        Float32Array.from({ length: 4 * dims.K }, () => r()),
        [4, dims.K],
      );
      const feat = feature(P, 'cam', v);
      const got = greedyDecode(P, feat, T).arraySync();
      expect(got).toEqual(jsGreedy(P, feat.arraySync()));
    }
  });

  it('never emits PAD or BOS, even when they have the highest logits, and runs T−1 steps', () => {
    const P = initParams('lrcn', dims, 4);
    setBias(P, { [PAD]: 50, [BOS]: 40, [EOS]: -50 });
    const feat = tf.ones([2, dims.K]);
    const caps = greedyDecode(P, feat, T).arraySync();
    for (const row of caps) {
      expect(row).toHaveLength(T);
      expect(row[0]).toBe(BOS);
      expect(row.slice(1).every((t) => t !== PAD && t !== BOS && t !== EOS)).toBe(true);
    }
  });

  it('emits PAD after EOS', () => {
    const P = initParams('lrcn', dims, 5);
    setBias(P, { [EOS]: 50 });
    const caps = greedyDecode(P, tf.ones([2, dims.K]), T).arraySync();
    for (const row of caps) expect(row).toEqual([BOS, EOS, ...new Array(T - 2).fill(PAD)]);
  });
});

describe('beam search', () => {
  it('with width 1 returns exactly the greedy caption', () => {
    for (const seed of [1, 7]) {
      const P = initParams('medi', dims, seed);
      const r = rng(seed + 99);
      const feat = feature(
        P,
        'medi',
        tf.tensor2d(
          Float32Array.from({ length: 5 * dims.K }, () => r()),
          [5, dims.K],
        ),
      );
      expect(beamSearch(P, feat, T, 1).arraySync()).toEqual(greedyDecode(P, feat, T).arraySync());
    }
  });

  it('with width 3 returns well-formed captions (BOS first, no PAD/BOS inside, PAD after EOS)', () => {
    const P = initParams('lrcn', dims, 8);
    const r = rng(3);
    const caps = beamSearch(
      P,
      tf.tensor2d(
        Float32Array.from({ length: 4 * dims.K }, () => r()),
        [4, dims.K],
      ),
      T,
      3,
    ).arraySync();
    for (const row of caps) {
      expect(row[0]).toBe(BOS);
      const e = row.indexOf(EOS);
      const body = e < 0 ? row.slice(1) : row.slice(1, e);
      expect(body.every((t) => t !== PAD && t !== BOS)).toBe(true);
      if (e >= 0) expect(row.slice(e + 1).every((t) => t === PAD)).toBe(true);
    }
  });

  it('finds captions at least as likely (length-normalised) as greedy, scored independently by teacher forcing', () => {
    for (const seed of [11, 12, 13]) {
      const P = initParams('lrcn', dims, seed);
      const r = rng(seed);
      const feat = tf.tensor2d(
        Float32Array.from({ length: 3 * dims.K }, () => r()),
        [3, dims.K],
      );
      const norm = (caps: tf.Tensor2D) => {
        const s = captionScores(capPrep(P), feat, caps).arraySync();
        const len = caps.arraySync().map((row) => {
          const e = row.indexOf(EOS);
          return e < 0 ? T - 1 : e;
        });
        return s.map((x, i) => x / len[i]);
      };
      const g = norm(greedyDecode(P, feat, T));
      const b = norm(beamSearch(P, feat, T, 3));
      b.forEach((x, i) => expect(x).toBeGreaterThanOrEqual(g[i] - 1e-5));
    }
  });
});

describe('beam search of many photos at once', () => {
  it('gives every photo the caption of its own search, whatever the width, blocking and α', () => {
    const wide: ModelDims = { K: 16, D: 24, E: 12, Hd: 20, V: 60, C: 3 };
    for (const [d, seed] of [[dims, 21], [wide, 22]] as const) {
      const P = initParams('medi', d, seed);
      const r = rng(seed);
      // spread-out features, so the photos' searches settle after different numbers of steps
      const feat = feature(P, 'medi', tf.tensor2d(Float32Array.from({ length: 9 * d.K }, () => 3 * r()), [9, d.K]));
      for (const o of [{ width: 3, noRepeatNgram: 2 }, { width: 1 }, { width: 4, lengthAlpha: 0 }, { width: 2, noRepeatNgram: 1 }]) {
        for (const len of [T, 15]) {
          const together = beamSearch(P, feat, len, o).arraySync();
          const alone = Array.from({ length: 9 }, (_, b) => beamSearch(P, tf.slice(feat, [b, 0], [1, -1]), len, o).arraySync()[0]);
          expect(together).toEqual(alone);
        }
      }
    }
  });
});

/** A captioner whose next-word distribution is the same at every step: softmax(bias). */
function constantCaptioner(seed: number, bias: Record<number, number>): Params {
  const P = initParams('lrcn', dims, seed);
  P['cap.out.weight'].assign(tf.zeros(P['cap.out.weight'].shape));
  const b = new Float32Array(dims.V).fill(-20);
  for (const [k, v] of Object.entries(bias)) b[Number(k)] = v;
  P['cap.out.bias'].assign(tf.tensor1d(b));
  return P;
}

const feat2 = () => tf.ones([2, dims.K]) as tf.Tensor2D;

/** Every word bigram of a token row (BOS first) counted; true when one occurs twice. */
function hasRepeatedBigram(row: number[]): boolean {
  const seen = new Set<string>();
  for (let i = 1; i + 1 < row.length && row[i + 1] !== EOS && row[i + 1] !== PAD; i++) {
    const k = `${row[i]},${row[i + 1]}`;
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

/** A float64 LSTM captioner straight from the PyTorch-layout weights: one step → log-probs over V. */
function jsCaptioner(P: Params) {
  const get = (n: string) => ({ d: Array.from(P[n].dataSync()), s: P[n].shape });
  const emb = get('cap.embed.weight');
  const wih = get('cap.lstm.weight_ih_l0');
  const whh = get('cap.lstm.weight_hh_l0');
  const bih = get('cap.lstm.bias_ih_l0').d;
  const bhh = get('cap.lstm.bias_hh_l0').d;
  const wo = get('cap.out.weight');
  const bo = get('cap.out.bias').d;
  const [V, E] = emb.s as [number, number];
  const Hd = whh.s[1] as number;
  const In = wih.s[1] as number;
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  return (tok: number, f: number[], st: { s: number[]; c: number[] }) => {
    const x = [...emb.d.slice(tok * E, tok * E + E), ...f];
    const g = Array.from({ length: 4 * Hd }, (_, r) => {
      let z = bih[r] + bhh[r];
      for (let k = 0; k < In; k++) z += wih.d[r * In + k] * x[k];
      for (let k = 0; k < Hd; k++) z += whh.d[r * Hd + k] * st.s[k];
      return z;
    });
    const c = st.c.map((cv, k) => sig(g[Hd + k]) * cv + sig(g[k]) * Math.tanh(g[2 * Hd + k]));
    const s = c.map((cv, k) => sig(g[3 * Hd + k]) * Math.tanh(cv));
    const z = Array.from({ length: V }, (_, w) => bo[w] + s.reduce((a, sk, k) => a + wo.d[w * Hd + k] * sk, 0));
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    return { lp: z.map((v) => v - lse), st: { s, c } };
  };
}

/** Greedy contrastive decoding in float64: argmax of lp(photo) − γ·lp(prior) among plausible words. */
function jsContrastGreedy(P: Params, feat: number[][], prior: number[], gamma: number): number[][] {
  const step = jsCaptioner(P);
  const Hd = P['cap.lstm.weight_hh_l0'].shape[1] as number;
  const zero = () => ({ s: new Array(Hd).fill(0), c: new Array(Hd).fill(0) });
  return feat.map((f) => {
    let a = zero();
    let b = zero();
    let tok = BOS;
    const out = [BOS];
    while (out.length < T && tok !== EOS) {
      const x = step(tok, f, a);
      const y = step(tok, prior, b);
      [a, b] = [x.st, y.st];
      const ok = (w: number) => w !== PAD && w !== BOS;
      const floor = Math.max(...x.lp.filter((_, w) => ok(w))) + Math.log(CONTRAST_PLAUSIBILITY);
      let best = -1;
      for (let w = 0; w < x.lp.length; w++) {
        if (!ok(w) || x.lp[w] < floor) continue;
        if (best < 0 || x.lp[w] - gamma * y.lp[w] > x.lp[best] - gamma * y.lp[best]) best = w;
      }
      out.push((tok = best));
    }
    while (out.length < T) out.push(PAD);
    return out;
  });
}

/** A captioner with sharpened output layer (some words fall below the plausibility floor). */
function sharpCaptioner(seed: number): Params {
  const P = initParams('lrcn', dims, seed);
  P['cap.out.weight'].assign(tf.mul(P['cap.out.weight'], 12));
  P['cap.out.bias'].assign(tf.mul(P['cap.out.bias'], 12));
  return P;
}

const randomFeat = (seed: number, n: number) => {
  const r = rng(seed);
  return tf.tensor2d(Float32Array.from({ length: n * dims.K }, () => 2 * r()), [n, dims.K]);
};

describe('contrastive ranking against the prior feature', () => {
  it('with width 1 is greedy on lp(photo) − γ·lp(prior) among the plausible words (an independent float64 decoder)', () => {
    let changed = 0;
    for (const seed of [31, 32, 33]) {
      const P = sharpCaptioner(seed);
      const feat = randomFeat(seed, 6);
      const prior = Array.from(tf.mean(feat, 0).dataSync());
      for (const gamma of [0.3, 1]) {
        const got = beamSearch(P, feat, T, { width: 1, contrast: gamma }, prior).arraySync();
        expect(got).toEqual(jsContrastGreedy(P, feat.arraySync(), prior, gamma));
        const plain = greedyDecode(P, feat, T).arraySync();
        changed += got.filter((row, i) => JSON.stringify(row) !== JSON.stringify(plain[i])).length;
      }
    }
    // the ranking is not a no-op on these captioners
    expect(changed).toBeGreaterThan(0);
  });

  it('never chooses a word below the plausibility floor, however large γ (checked by teacher forcing)', () => {
    for (const seed of [41, 42]) {
      const P = sharpCaptioner(seed);
      const feat = randomFeat(seed, 5);
      const prior = Array.from(randomFeat(seed + 1, 1).dataSync());
      const caps = beamSearch(P, feat, T, { width: 3, contrast: 50 }, prior);
      const lp = tf.logSoftmax(teacherForced(capPrep(P), feat, caps)).arraySync() as number[][];
      caps.arraySync().forEach((row, b) => {
        for (let t = 1; t < T && row[t - 1] !== EOS; t++) {
          const dist = lp[b * (T - 1) + t - 1];
          const top = Math.max(...dist.filter((_, w) => w !== PAD && w !== BOS));
          expect(dist[row[t]]).toBeGreaterThanOrEqual(top + Math.log(CONTRAST_PLAUSIBILITY) - 1e-4);
        }
      });
    }
  });

  it('γ 0 or no prior is the plain beam search, bit for bit; the product decoding applies γ only with a prior', () => {
    const P = sharpCaptioner(51);
    const feat = randomFeat(51, 4);
    const prior = Array.from(tf.mean(feat, 0).dataSync());
    const plain = beamSearch(P, feat, T, { width: 3, noRepeatNgram: 2 }).arraySync();
    expect(beamSearch(P, feat, T, { width: 3, noRepeatNgram: 2, contrast: 0 }, prior).arraySync()).toEqual(plain);
    expect(beamSearch(P, feat, T, { width: 3, noRepeatNgram: 2, contrast: 0.3 }).arraySync()).toEqual(plain);
    expect(productDecode(P, feat, T).arraySync()).toEqual(beamSearch(P, feat, T, { ...PRODUCT_DECODING, contrast: 0 }).arraySync());
    expect(productDecode(P, feat, T, {}, prior).arraySync()).toEqual(beamSearch(P, feat, T, PRODUCT_DECODING, prior).arraySync());
    expect(productSettings({}, null).contrast).toBe(0);
    expect(productSettings({}, prior).contrast).toBe(PRODUCT_DECODING.contrast);
    expect(describeDecoding(productSettings({}, prior))).toBe('beam 3, α 1, no repeated 2-grams, contrast 0.3');
  });

  it('searches many photos at once exactly as one by one, and refuses a prior of the wrong width or a negative γ', () => {
    const P = sharpCaptioner(61);
    const feat = randomFeat(61, 7);
    const prior = Array.from(tf.mean(feat, 0).dataSync());
    const o = { width: 3, noRepeatNgram: 2, contrast: 0.5 };
    const alone = Array.from({ length: 7 }, (_, b) => beamSearch(P, tf.slice(feat, [b, 0], [1, -1]) as tf.Tensor2D, T, o, prior).arraySync()[0]);
    expect(beamSearch(P, feat, T, o, prior).arraySync()).toEqual(alone);
    expect(() => beamSearch(P, feat, T, o, prior.slice(1))).toThrow(/caption prior has 5 values, the captioner's feature 6/);
    expect(() => beamSearch(P, feat, T, { contrast: -1 }, prior)).toThrow(/contrast must be a number ≥ 0/);
    expect(() => beamSearch(P, feat, T, o, prior.map((x, k) => (k === 2 ? NaN : x)))).toThrow(/not a finite number/);
  });
});

describe('n-gram repetition blocking', () => {
  it('lists the tokens that would repeat an n-gram', () => {
    expect([...blockedTokens([BOS, 4, 4, 5, 4], 2)].sort()).toEqual([4, 5]);
    expect([...blockedTokens([BOS, 4, 5, 6, 4, 5], 3)]).toEqual([6]);
    expect(blockedTokens([BOS, 4, 5, 6], 3).size).toBe(0);
    // n = 1: no word twice at all
    expect([...blockedTokens([BOS, 4, 5], 1)].sort()).toEqual([BOS, 4, 5]);
  });

  it('a looping captioner repeats without blocking and never repeats a bigram with it', () => {
    // word 4 always most likely, EOS never: greedy loops "w4 w4 w4 …"
    const P = constantCaptioner(3, { 4: 10, 5: 9, 6: 8, 7: 7 });
    const free = beamSearch(P, feat2(), T, { width: 3 }).arraySync();
    expect(free[0]).toEqual([BOS, 4, 4, 4, 4, 4, 4]);
    expect(hasRepeatedBigram(free[0])).toBe(true);
    for (const width of [1, 3]) {
      const blocked = beamSearch(P, feat2(), T, { width, noRepeatNgram: 2 }).arraySync();
      for (const row of blocked) expect(hasRepeatedBigram(row)).toBe(false);
    }
    // width 1 is greedy under the constraint: the most likely token not completing a seen bigram
    expect(beamSearch(P, feat2(), T, { width: 1, noRepeatNgram: 2 }).arraySync()[0]).toEqual([BOS, 4, 4, 5, 4, 6, 4]);
  });

  it('the product decoding blocks repeated bigrams', () => {
    const P = constantCaptioner(5, { 4: 10, 5: 9, 6: 8, 7: 7 });
    for (const row of productDecode(P, feat2(), T).arraySync()) expect(hasRepeatedBigram(row)).toBe(false);
  });
});

describe('length normalisation', () => {
  it('divides the log-prob by length^α', () => {
    expect(normalisedScore(-6, 3, 0)).toBe(-6);
    expect(normalisedScore(-6, 3, 1)).toBe(-2);
    expect(normalisedScore(-6, 4, 0.5)).toBe(-3);
    // a longer caption with a lower total log-prob overtakes a shorter one as α grows
    expect(normalisedScore(-1.3, 1, 0)).toBeGreaterThan(normalisedScore(-2, 3, 0));
    expect(normalisedScore(-1.3, 1, 1)).toBeLessThan(normalisedScore(-2, 3, 1));
  });

  it('α = 0 picks the shortest caption, α = 1 the one with the best per-token log-prob', () => {
    // word 4 likely, EOS less likely, word 5 unlikely, at every step: "<eos>" alone has the best
    // total log-prob; each extra w4 lowers the total but raises the mean, up to the length limit.
    const P = constantCaptioner(6, { 4: 0, [EOS]: -1, 5: -3 });
    const raw = beamSearch(P, feat2(), T, { width: 3, lengthAlpha: 0 }).arraySync();
    const mean = beamSearch(P, feat2(), T, { width: 3, lengthAlpha: 1 }).arraySync();
    expect(raw[0]).toEqual([BOS, EOS, PAD, PAD, PAD, PAD, PAD]);
    expect(mean[0]).toEqual([BOS, 4, 4, 4, 4, 4, 4]);
  });
});

describe('repetition metrics', () => {
  it('counts captions with a repeated bigram and distinct bigrams over the set', () => {
    const r = repetitionScores(['a red bird and a white and a', 'a red bird', 'a blue bird']);
    // bigrams: 7 + 2 + 2 = 11; distinct: a red, red bird, bird and, and a, a white, white and, a blue, blue bird = 8
    expect(r.repeated_bigram_share).toBeCloseTo(1 / 3, 12);
    expect(r.distinct2).toBeCloseTo(8 / 11, 12);
    expect(repetitionScores([])).toEqual({ repeated_bigram_share: 0, distinct2: 0 });
  });
});

describe('vocabulary', () => {
  const caps = ['A small bird, with a RED crown.', "The bird's wing is red", 'a tiny bird!', 'zebra'];

  it('tokenizes: lower-case, punctuation stripped', () => {
    expect(tokenize("The bird's wing, is RED!")).toEqual(['the', 'birds', 'wing', 'is', 'red']);
  });

  it('assigns specials 0..3 and words by count, then alphabetically; min count drops rare words', () => {
    const v = buildVocab(caps, { minCount: 2 });
    expect(v.words.slice(0, 4)).toEqual(['<pad>', '<bos>', '<eos>', '<unk>']);
    expect(v.words.slice(4)).toEqual(['a', 'bird', 'red']);
    const all = buildVocab(caps);
    expect(all.words.length).toBe(4 + new Set(caps.flatMap(tokenize)).size);
  });

  it('encodes BOS words EOS PAD, <unk> for unknown words, truncates, and decodes back', () => {
    const v = buildVocab(caps, { minCount: 2 });
    const ids = encode(v, 'A red zebra bird', 7);
    expect(Array.from(ids)).toEqual([
      BOS,
      v.index.get('a')!,
      v.index.get('red')!,
      3,
      v.index.get('bird')!,
      EOS,
      PAD,
    ]);
    expect(decode(v, ids)).toBe('a red <unk> bird');
    const long = encode(v, 'a a a a a a a a', 5);
    expect(Array.from(long)).toEqual([BOS, 4, 4, 4, EOS]);
    expect(decode(vocabFromJSON(JSON.parse(JSON.stringify(vocabToJSON(v)))), ids)).toBe('a red <unk> bird');
  });
});
