/**
 * Validation during training (top-1, top-5, caption loss, optionally CIDEr-D of the greedy or the
 * product decoding's captions) and the model-selection score.
 */
import * as tf from '@tensorflow/tfjs';
import type { SplitScores } from '../../../shared/types.ts';
import type { FeatureCache } from '../../ml/feature-cache.ts';
import { productDecode } from '../../ml/decode.ts';
import { scoreCaptions } from '../../ml/metrics/index.ts';
import {
  capPrep,
  captionLoss,
  classify,
  feature,
  greedyDecode,
  hasCap,
  hasCls,
  pooled,
  type Params,
  type Variant,
} from '../../ml/model.ts';
import { decodeCaption, encodeCaption, type Example } from './dataset.ts';

/**
 * What the best checkpoint is chosen by: caption loss (with top-1), or validation CIDEr-D (with
 * top-1) of the greedy captions ('cider') or of the product decoding's ('product').
 */
export type Selection = 'loss' | 'cider' | 'product';

/** A decoding whose validation captions are scored: the contract's greedy one or the product's. */
export type ValidationDecoding = 'greedy' | 'product';

/** The decoding whose validation captions a selection scores (null: none). */
export function selectionDecoding(by: Selection): ValidationDecoding | null {
  return by === 'cider' ? 'greedy' : by === 'product' ? 'product' : null;
}

export function evaluateSplit(
  params: Params | Record<string, tf.Tensor>,
  variant: Variant,
  data: Example[],
  cache: FeatureCache,
  index: Map<string, number>,
  T: number,
  batch = 64,
  ciderOf: ValidationDecoding | null = null,
  /** The captioner's prior feature for the product decoding's contrastive ranking. */
  prior: number[] | null = null,
): SplitScores {
  if (!data.length) return { top1: null, top5: null, captionLoss: null };
  const words = ciderOf && hasCap(variant) ? wordsOf(index) : null;
  const refs: Record<string, string[]> = {};
  const cands: Record<string, string> = {};
  let c1 = 0;
  let c5 = 0;
  let capSum = 0;
  let capN = 0;
  for (let i = 0; i < data.length; i += batch) {
    const chunk = data.slice(i, i + batch);
    const { data: A, shape } = cache.getBatch(chunk.map((e) => e.hash));
    tf.tidy(() => {
      const v = pooled(tf.tensor4d(A, shape));
      const feat = feature(params, variant, v);
      if (hasCls(variant)) {
        const logits = classify(params, feat).arraySync() as number[][];
        logits.forEach((row, j) => {
          const y = chunk[j].label;
          const rank = row.filter((x) => x > row[y]).length;
          if (rank === 0) c1++;
          if (rank < 5) c5++;
        });
      }
      if (words) {
        const decoded = ciderOf === 'product' ? productDecode(params, feat as tf.Tensor2D, T, {}, prior) : greedyDecode(params, feat, T);
        const ids = decoded.arraySync() as number[][];
        chunk.forEach((e, j) => {
          if (!e.captions.length) return;
          refs[String(i + j)] = e.captions;
          cands[String(i + j)] = decodeCaption(ids[j], words);
        });
      }
      if (hasCap(variant)) {
        // Up to 5 references per image, the same ones every epoch.
        const rows: number[] = [];
        const caps: Int32Array[] = [];
        chunk.forEach((e, j) =>
          e.captions.slice(0, 5).forEach((c) => (rows.push(j), caps.push(encodeCaption(c, index, T)))),
        );
        if (caps.length) {
          const f = tf.gather(feat, tf.tensor1d(rows, 'int32'));
          const flat = new Int32Array(caps.length * T);
          caps.forEach((c, k) => flat.set(c, k * T));
          const l = captionLoss(
            capPrep(params),
            f,
            tf.tensor2d(flat, [caps.length, T], 'int32'),
          ).dataSync()[0];
          capSum += l * caps.length;
          capN += caps.length;
        }
      }
    });
  }
  return {
    top1: hasCls(variant) ? c1 / data.length : null,
    top5: hasCls(variant) ? c5 / data.length : null,
    captionLoss: hasCap(variant) && capN ? capSum / capN : null,
    ...(words ? { cider: Object.keys(cands).length ? scoreCaptions(refs, cands, { meteor: false }).cider : null } : {}),
  };
}

/** Token id → word from the vocabulary index. */
function wordsOf(index: Map<string, number>): string[] {
  const words: string[] = [];
  for (const [w, i] of index) words[i] = w;
  return words;
}

/**
 * Model selection score (higher is better): cnn → val top-1; lrcn → −(val caption loss)/ln V;
 * medi/cam → top-1 − (caption loss)/ln V. Dividing by ln V (the loss of a uniform guess) puts the
 * caption term on the same 0–1 scale as accuracy, so neither head is ignored.
 */
export function selectionScore(r: SplitScores, V: number, by: Selection = 'loss'): number {
  // by CIDEr-D: lrcn → CIDEr; medi/cam → top-1 + CIDEr (CIDEr-D of these captioners is 0–1 too)
  if (selectionDecoding(by) && r.cider !== undefined && r.cider !== null) return (r.top1 ?? 0) + r.cider;
  const cap = r.captionLoss !== null ? r.captionLoss / Math.log(Math.max(V, 2)) : 0;
  return (r.top1 ?? 0) - cap;
}
