/**
 * CIDEr-D exactly as coco-caption's cider_scorer.py (the class is called Cider there):
 * n = 1..4, sigma = 6, document frequencies counted over the references of THIS corpus,
 * tf-idf weights tf * (log N − log max(1, df)), clipped similarity min(w_c, w_r) * w_r over
 * the norms, a Gaussian length penalty where "length" is the number of bigrams (a quirk of
 * the original code; only the difference matters), × 10, mean over the references and the
 * four orders. Candidate n-grams absent from every reference get the full weight tf * log N,
 * which enlarges the candidate norm — kept on purpose, it is what the published numbers use.
 */
import { ngramCounts } from './tokenize.ts';

const N = 4;
const SIGMA = 6;

interface Vec {
  w: Map<string, number>[];
  norm: number[];
  /** Number of bigrams of the sentence (coco-caption's "length"). */
  length: number;
}

/** CIDEr-D of every image; `refs[i]` are image i's tokenised references. */
export function ciderD(cands: readonly (readonly string[])[], refs: readonly (readonly (readonly string[])[])[]): number[] {
  const refCounts = refs.map((rs) => rs.map((r) => ngramCounts(r, N)));
  // df(g): number of images whose reference set contains g.
  const df = new Map<string, number>();
  for (const rs of refCounts) {
    const seen = new Set<string>();
    for (const c of rs) for (let k = 0; k < N; k++) for (const g of c[k].keys()) seen.add(k + '|' + g);
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1);
  }
  const logN = Math.log(refs.length);
  const toVec = (counts: Map<string, number>[]): Vec => {
    const w: Map<string, number>[] = [];
    const norm: number[] = [];
    for (let k = 0; k < N; k++) {
      const m = new Map<string, number>();
      let sq = 0;
      for (const [g, tf] of counts[k]) {
        const v = tf * (logN - Math.log(Math.max(1, df.get(k + '|' + g) ?? 0)));
        m.set(g, v);
        sq += v * v;
      }
      w.push(m);
      norm.push(Math.sqrt(sq));
    }
    let length = 0;
    for (const tf of counts[1].values()) length += tf;
    return { w, norm, length };
  };
  const scores: number[] = [];
  for (let i = 0; i < cands.length; i++) {
    const vc = toVec(ngramCounts(cands[i], N));
    const val = [0, 0, 0, 0];
    for (const rc of refCounts[i]) {
      const vr = toVec(rc);
      const delta = vc.length - vr.length;
      const pen = Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
      for (let k = 0; k < N; k++) {
        let s = 0;
        for (const [g, wc] of vc.w[k]) {
          const wr = vr.w[k].get(g) ?? 0;
          s += Math.min(wc, wr) * wr;
        }
        if (vc.norm[k] !== 0 && vr.norm[k] !== 0) s /= vc.norm[k] * vr.norm[k];
        val[k] += s * pen;
      }
    }
    const mean = (val[0] + val[1] + val[2] + val[3]) / N;
    scores.push(refCounts[i].length ? (mean / refCounts[i].length) * 10 : 0);
  }
  return scores;
}
