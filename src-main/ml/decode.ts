/**
 * Caption decoding. Greedy is the contract's (docs/design.md: The model: from BOS, T−1 steps, argmax with PAD and
 * BOS excluded, PAD after EOS; it lives in model.ts because training needs it). Beam search is
 * for the app and batch captioning: width 3 by default, hypotheses ranked by log-prob divided by
 * their length (words + EOS). With width 1 it returns exactly the greedy caption.
 */
import * as tf from '@tensorflow/tfjs';
import { BOS, EOS, PAD, type ParamView, capPrep, featureGates, greedyDecode, lstmStep } from './model.ts';
import { embed, logSoftmax, mmNT } from './ops.ts';

export { greedyDecode };

interface Hyp {
  tokens: number[];
  logp: number;
}

/**
 * Beam search over captioner features feat [B,F]; returns [B,T] int32 (BOS first, PAD-padded).
 * Candidates never include PAD or BOS; a hypothesis ends at EOS or after T−1 tokens.
 */
export function beamSearch(P: ParamView, feat: tf.Tensor2D, T: number, width = 3): tf.Tensor2D {
  if (width < 1) throw new Error('beam width must be ≥ 1');
  const B = feat.shape[0];
  const rows: number[][] = [];
  const cp = capPrep(P);
  try {
    for (let b = 0; b < B; b++) {
      const fg = tf.tidy(() => featureGates(cp, tf.slice(feat, [b, 0], [1, -1])));
      let alive: Hyp[] = [{ tokens: [BOS], logp: 0 }];
      let s: tf.Tensor | null = null;
      let c: tf.Tensor | null = null;
      const finished: Hyp[] = [];
      for (let t = 0; t < T - 1 && alive.length > 0 && finished.length < width; t++) {
        const last = tf.tensor1d(
          alive.map((h) => h.tokens[h.tokens.length - 1]),
          'int32',
        );
        const step = tf.tidy(() => {
          const xg = tf.add(mmNT(embed(cp.embedW, last), cp.We, cp.WeT), fg);
          const r = lstmStep(cp, xg, s, c);
          const lp = logSoftmax(tf.add(mmNT(r.s, cp.Wo, cp.WoT), cp.outB));
          return { s: r.s, c: r.c, lp };
        });
        last.dispose();
        const lp = step.lp.dataSync() as Float32Array;
        const V = step.lp.shape[1] as number;
        const cands: { parent: number; tok: number; logp: number }[] = [];
        alive.forEach((h, i) => {
          // the best `width` tokens of this hypothesis are enough to find the best `width` overall
          const best: { tok: number; v: number }[] = [];
          for (let k = 0; k < V; k++) {
            if (k === PAD || k === BOS) continue;
            const x = lp[i * V + k];
            if (best.length < width || x > best[best.length - 1].v) {
              best.push({ tok: k, v: x });
              best.sort((a, z) => z.v - a.v || a.tok - z.tok);
              if (best.length > width) best.pop();
            }
          }
          for (const q of best) cands.push({ parent: i, tok: q.tok, logp: h.logp + q.v });
        });
        cands.sort((a, z) => z.logp - a.logp || a.parent - z.parent || a.tok - z.tok);
        const next: Hyp[] = [];
        const parents: number[] = [];
        for (const q of cands.slice(0, width)) {
          const h = { tokens: [...alive[q.parent].tokens, q.tok], logp: q.logp };
          if (q.tok === EOS) finished.push(h);
          else {
            next.push(h);
            parents.push(q.parent);
          }
        }
        const prevS = s;
        const prevC = c;
        if (next.length) {
          const idx = tf.tensor1d(parents, 'int32');
          s = tf.gather(step.s, idx);
          c = tf.gather(step.c, idx);
          idx.dispose();
        } else {
          s = c = null;
        }
        prevS?.dispose();
        prevC?.dispose();
        step.s.dispose();
        step.c.dispose();
        step.lp.dispose();
        alive = next;
      }
      s?.dispose();
      c?.dispose();
      fg.dispose();
      const pool = finished.length ? finished.concat(alive) : alive;
      const norm = (h: Hyp) => h.logp / Math.max(1, h.tokens.length - 1);
      let best = pool[0];
      for (const h of pool) if (norm(h) > norm(best)) best = h;
      const row = best.tokens.slice(0, T);
      while (row.length < T) row.push(PAD);
      rows.push(row);
    }
  } finally {
    for (const k of ['We', 'Wf', 'WeT', 'WfT', 'bias', 'WhhT', 'WoT'] as const) cp[k].dispose();
  }
  return tf.tensor2d(rows, [B, T], 'int32');
}
