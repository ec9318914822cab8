/**
 * CIDEr-D exactly as coco-caption's cider_scorer.py (the class is called Cider there):
 * n = 1..4, sigma = 6, document frequencies counted over the references of THIS corpus,
 * tf-idf weights tf * (log N − log max(1, df)), clipped similarity min(w_c, w_r) * w_r over
 * the norms, a Gaussian length penalty where "length" is the number of bigrams (a quirk of
 * the original code; only the difference matters), × 10, mean over the references and the
 * four orders. Candidate n-grams absent from every reference get the full weight tf * log N,
 * which enlarges the candidate norm — kept on purpose, it is what the published numbers use.
 */

const N = 4;
const SIGMA = 6;

interface Vec {
  /** Per order: distinct n-gram ids and their tf-idf weights. */
  ids: Int32Array[];
  w: Float64Array[];
  norm: number[];
  /** Number of bigrams of the sentence (coco-caption's "length"). */
  length: number;
}

/**
 * CIDEr-D of every image from n-gram counts (orders 1..4, dense ids below `idSpace`, see
 * ngrams.ts): `candCounts[i]` is image i's candidate, `refCounts[i]` its references.
 */
export function ciderD(
  candCounts: readonly Map<number, number>[][],
  refCounts: readonly Map<number, number>[][][],
  idSpace: number,
): number[] {
  // df(g): number of images whose reference set contains g (ids are dense).
  const df = new Int32Array(idSpace);
  const lastImage = new Int32Array(idSpace).fill(-1);
  refCounts.forEach((rs, img) => {
    for (const c of rs)
      for (const m of c)
        for (const g of m.keys())
          if (lastImage[g] !== img) {
            lastImage[g] = img;
            df[g]++;
          }
  });
  const logN = Math.log(refCounts.length);
  const idf = new Float64Array(idSpace);
  for (let g = 0; g < idf.length; g++) idf[g] = logN - Math.log(Math.max(1, df[g]));

  const toVec = (counts: Map<number, number>[]): Vec => {
    const ids: Int32Array[] = [];
    const w: Float64Array[] = [];
    const norm: number[] = [];
    for (let k = 0; k < N; k++) {
      const m = counts[k];
      const gi = new Int32Array(m.size);
      const gw = new Float64Array(m.size);
      let sq = 0;
      let j = 0;
      for (const [g, tf] of m) {
        const v = tf * idf[g];
        gi[j] = g;
        gw[j++] = v;
        sq += v * v;
      }
      ids.push(gi);
      w.push(gw);
      norm.push(Math.sqrt(sq));
    }
    let length = 0;
    for (const tf of counts[1].values()) length += tf;
    return { ids, w, norm, length };
  };

  // Scratch: the reference's weight per n-gram id, filled and cleared per reference.
  const refW = new Float64Array(idSpace);
  const scores: number[] = [];
  for (let i = 0; i < candCounts.length; i++) {
    const vc = toVec(candCounts[i]);
    const val = [0, 0, 0, 0];
    for (const rc of refCounts[i]) {
      const vr = toVec(rc);
      const delta = vc.length - vr.length;
      const pen = Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
      for (let k = 0; k < N; k++) {
        const rid = vr.ids[k];
        const rw = vr.w[k];
        for (let j = 0; j < rid.length; j++) refW[rid[j]] = rw[j];
        let s = 0;
        const cid = vc.ids[k];
        const cw = vc.w[k];
        for (let j = 0; j < cid.length; j++) {
          const wr = refW[cid[j]];
          s += Math.min(cw[j], wr) * wr;
        }
        for (let j = 0; j < rid.length; j++) refW[rid[j]] = 0;
        if (vc.norm[k] !== 0 && vr.norm[k] !== 0) s /= vc.norm[k] * vr.norm[k];
        val[k] += s * pen;
      }
    }
    const mean = (val[0] + val[1] + val[2] + val[3]) / N;
    scores.push(refCounts[i].length ? (mean / refCounts[i].length) * 10 : 0);
  }
  return scores;
}
