/**
 * CIDEr-D exactly as coco-caption's cider_scorer.py (the class is called Cider there):
 * n = 1..4, sigma = 6, document frequencies counted over the references of THIS corpus,
 * tf-idf weights tf * (log N − log max(1, df)), clipped similarity min(w_c, w_r) * w_r over
 * the norms, a Gaussian length penalty where "length" is the number of bigrams (a quirk of
 * the original code; only the difference matters), × 10, mean over the references and the
 * four orders. Candidate n-grams absent from every reference get the full weight tf * log N,
 * which enlarges the candidate norm — kept on purpose, it is what the published numbers use.
 */

import type { NgramBag } from './ngrams.ts';

const N = 4;
const SIGMA = 6;

/** tf-idf weights of a bag (aligned with bag.ids) and the norm of each order. */
interface Vec {
  w: Float64Array;
  norm: Float64Array;
}

/**
 * CIDEr-D of every image from n-gram bags (orders 1..4, dense ids below `idSpace`, see
 * ngrams.ts): `cands[i]` is image i's candidate, `refs[i]` its references.
 */
export function ciderD(cands: readonly NgramBag[], refs: readonly (readonly NgramBag[])[], idSpace: number): number[] {
  // df(g): number of images whose reference set contains g.
  const df = new Int32Array(idSpace);
  const lastImage = new Int32Array(idSpace).fill(-1);
  refs.forEach((rs, img) => {
    for (const r of rs)
      for (let j = 0; j < r.ids.length; j++) {
        const g = r.ids[j];
        if (lastImage[g] !== img) {
          lastImage[g] = img;
          df[g]++;
        }
      }
  });
  const logN = Math.log(refs.length);
  const idf = new Float64Array(idSpace);
  for (let g = 0; g < idSpace; g++) idf[g] = logN - Math.log(Math.max(1, df[g]));

  const toVec = (b: NgramBag): Vec => {
    const w = new Float64Array(b.ids.length);
    const norm = new Float64Array(N);
    for (let k = 0; k < N; k++) {
      let sq = 0;
      for (let j = b.start[k]; j < b.start[k + 1]; j++) {
        const v = b.counts[j] * idf[b.ids[j]];
        w[j] = v;
        sq += v * v;
      }
      norm[k] = Math.sqrt(sq);
    }
    return { w, norm };
  };
  // coco-caption's "length" is the number of bigrams: the sum of the order-2 counts.
  const bigrams = (b: NgramBag) => Math.max(0, b.length - 1);

  // Scratch: the reference's weight per n-gram id, filled and cleared per reference.
  const refW = new Float64Array(idSpace);
  const scores: number[] = [];
  const val = new Float64Array(N);
  for (let i = 0; i < cands.length; i++) {
    const c = cands[i];
    const vc = toVec(c);
    val.fill(0);
    for (const r of refs[i]) {
      const vr = toVec(r);
      const delta = bigrams(c) - bigrams(r);
      const pen = Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
      for (let j = 0; j < r.ids.length; j++) refW[r.ids[j]] = vr.w[j];
      for (let k = 0; k < N; k++) {
        let s = 0;
        for (let j = c.start[k]; j < c.start[k + 1]; j++) {
          const wr = refW[c.ids[j]];
          s += Math.min(vc.w[j], wr) * wr;
        }
        if (vc.norm[k] !== 0 && vr.norm[k] !== 0) s /= vc.norm[k] * vr.norm[k];
        val[k] += s * pen;
      }
      for (let j = 0; j < r.ids.length; j++) refW[r.ids[j]] = 0;
    }
    const mean = (val[0] + val[1] + val[2] + val[3]) / N;
    scores.push(refs[i].length ? (mean / refs[i].length) * 10 : 0);
  }
  return scores;
}
