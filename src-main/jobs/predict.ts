/**
 * Scoring a collection with a run (the review queue's data) and the per-image CAMs of the
 * heat-map view. Both read the feature cache (the CNN never runs again).
 *
 * predictCollection: for every image of the run's collection with cached features, in batches:
 * predicted class, top-1 probability, top-5, caption (the product decoding, ml/decode.ts), the caption's mean per-token
 * log-probability under teacher forcing, and disagreement = 1 − cos(cam_cls(pred), cam_cap(pred
 * caption)). Rows go to the `predictions` table (data/predictions.ts). It yields to the event loop
 * between batches so the api keeps answering while it runs in-process.
 */
import * as tf from '@tensorflow/tfjs';
import type { CamsView, PredictJobResult } from '../../shared/types.ts';
import { getRun, type RunRecord } from '../data/runs.ts';
import { clearPredictions, savePredictions, type PredictionRow } from '../data/predictions.ts';
import { openDb, type Db } from '../data/store.ts';
import { workspace, type Workspace } from '../data/workspace.ts';
import { initBackend } from '../ml/backend.ts';
import { FeatureCache } from '../ml/feature-cache.ts';
import { productDecode } from '../ml/decode.ts';
import { camsFor, wordCam } from '../ml/gradcam.ts';
import {
  BOS,
  EOS,
  PAD,
  capPrep,
  classify,
  feature,
  hasCap,
  hasCls,
  pooled,
  teacherForced,
  tokenLogprobs,
} from '../ml/model.ts';
import { loadRunModel, requireCheckpoint, type RunModel } from './run-artifact.ts';
import { cancelled, invalidRequest, notFound, unavailable } from '../util/errors.ts';

export interface PredictOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Feature maps per batch (default SCORE_BATCH). */
  batchSize?: number;
}

/**
 * Feature maps scored per batch. The beam search decodes a whole batch together, so larger
 * batches mean fewer sequential steps: on 282 photos (small widths) 128 took less CPU than 32 in
 * every interleaved pair, on both backends (docs/model.md "Retrain after edits").
 */
export const SCORE_BATCH = 128;

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** Caption token ids (BOS first) → the words, without specials. */
export function captionWords(ids: ArrayLike<number>, words: string[]): string[] {
  const out: string[] = [];
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (t === 0 && id === BOS) continue;
    if (id === EOS || id === PAD) break;
    out.push(words[id] ?? '<unk>');
  }
  return out;
}

interface ImageRow {
  id: number;
  content_hash: string;
}

function runOrThrow(db: Db, ws: Workspace, runId: string): RunRecord {
  const run = getRun(db, runId);
  if (!run) throw notFound(`no run '${runId}'`);
  requireCheckpoint(ws, run);
  return run;
}

/** The product decoding's captions of a batch of feature maps (undefined without a captioner). */
function productCaptions(model: RunModel, A: tf.Tensor4D): tf.Tensor2D | undefined {
  if (!hasCap(model.variant)) return undefined;
  const feat = tf.tidy(() => feature(model.P, model.variant, pooled(A)));
  try {
    return productDecode(model.P, feat, model.T, {}, model.prior);
  } finally {
    feat.dispose();
  }
}

/** Grad-CAMs of a batch for the predicted class and the product decoding's caption. */
function camsOfProductCaption(model: RunModel, A: tf.Tensor4D) {
  const predCaptions = productCaptions(model, A);
  try {
    // the result's pred_captions IS predCaptions: disposing the result frees it
    return camsFor(model.P, model.variant, A, null, null, { T: model.T, predCaptions });
  } catch (e) {
    predCaptions?.dispose();
    throw e;
  }
}

/** Per-image outputs for one batch of feature maps A [B,H,W,K]. */
function scoreBatch(model: RunModel, A: tf.Tensor4D) {
  const { P, variant } = model;
  const cams = camsOfProductCaption(model, A);
  try {
    const out = tf.tidy(() => {
      const feat = feature(P, variant, pooled(A));
      const r: Record<string, tf.Tensor> = {};
      if (hasCls(variant)) r.probs = tf.softmax(classify(P, feat));
      if (hasCap(variant) && cams.pred_captions) {
        const caps = cams.pred_captions;
        const { tok, mask } = tokenLogprobs(teacherForced(capPrep(P), feat, caps), caps);
        r.likelihood = tf.div(tf.sum(tf.mul(tok, mask), 1), tf.maximum(tf.sum(mask, 1), 1));
      }
      return r;
    });
    const res = {
      probs: out.probs ? (out.probs.arraySync() as number[][]) : null,
      captions: cams.pred_captions ? (cams.pred_captions.arraySync() as number[][]) : null,
      likelihood: out.likelihood ? (out.likelihood.arraySync() as number[]) : null,
      agreement: cams.cam_agreement ? (cams.cam_agreement.arraySync() as number[]) : null,
    };
    tf.dispose(Object.values(out));
    return res;
  } finally {
    tf.dispose(Object.values(cams) as tf.Tensor[]);
  }
}

export async function predictCollection(
  home: string,
  runId: string,
  opts: PredictOptions = {},
): Promise<PredictJobResult> {
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  const t0 = Date.now();
  try {
    const run = runOrThrow(db, ws, runId);
    await initBackend();
    const model = loadRunModel(ws, run);
    try {
      const cache = new FeatureCache(ws.features, run.encoder);
      const all = db
        .prepare('SELECT id, content_hash FROM images WHERE (@c IS NULL OR collection_id = @c) ORDER BY id')
        .all({ c: run.collectionId }) as ImageRow[];
      const images = all.filter((im) => cache.has(im.content_hash));
      const B = opts.batchSize ?? SCORE_BATCH;
      clearPredictions(db, run.id);
      opts.onProgress?.(0, images.length);
      for (let start = 0; start < images.length; start += B) {
        if (opts.signal?.aborted) throw cancelled();
        const batch = images.slice(start, start + B);
        const { data, shape } = cache.getBatch(batch.map((im) => im.content_hash));
        const A = tf.tensor4d(data, shape);
        let s: ReturnType<typeof scoreBatch>;
        try {
          s = scoreBatch(model, A);
        } finally {
          A.dispose();
        }
        const rows: PredictionRow[] = batch.map((im, j) => {
          let classId: number | null = null;
          let confidence: number | null = null;
          let top5: PredictionRow['top5'] = [];
          if (s.probs) {
            const order = s.probs[j]
              .map((p, i) => [p, i] as const)
              .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
            classId = model.classIds[order[0][1]];
            confidence = order[0][0];
            top5 = order.slice(0, 5).map(([p, i]) => ({ classId: model.classIds[i], p }));
          }
          const caption = s.captions ? captionWords(s.captions[j], model.words).join(' ') : null;
          return {
            runId: run.id,
            imageId: im.id,
            classId,
            confidence,
            top5,
            caption,
            likelihood: s.likelihood ? s.likelihood[j] : null,
            disagreement: s.agreement ? 1 - s.agreement[j] : null,
          };
        });
        savePredictions(db, rows);
        opts.onProgress?.(Math.min(start + B, images.length), images.length);
        await yieldToLoop();
      }
      return {
        run: run.id,
        images: images.length,
        skipped: all.length - images.length,
        seconds: (Date.now() - t0) / 1000,
      };
    } finally {
      tf.dispose(Object.values(model.P));
    }
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// CAMs of one image for the heat-map view

/** What the heat-map view shows (shared/types.ts CamsView): maps normalised to [0,1], greedy caption. */
export type ImageCams = CamsView;

/** Scales a non-negative map to [0,1] by its maximum (an all-zero map stays zero). */
export function normaliseMap(m: ArrayLike<number>): number[] {
  let max = 0;
  for (let i = 0; i < m.length; i++) if (m[i] > max) max = m[i];
  return Array.from(m, (x) => (max > 0 ? Math.max(0, x) / max : 0));
}

/**
 * A loaded run model kept between requests: clicking through photos in the heat-map view must
 * not re-read the checkpoint each time. One run at a time (the one being looked at).
 */
let loaded: { key: string; model: RunModel; run: RunRecord } | null = null;

function modelFor(db: Db, ws: Workspace, runId: string): { model: RunModel; run: RunRecord } {
  const run = runOrThrow(db, ws, runId);
  const key = `${ws.home}\u0000${run.id}\u0000${run.checkpoint}`;
  if (loaded?.key === key) return loaded;
  if (loaded) tf.dispose(Object.values(loaded.model.P));
  loaded = { key, model: loadRunModel(ws, run), run };
  return loaded;
}

/** Frees the cached model (api close, tests). */
export function releaseCamModel(): void {
  if (loaded) tf.dispose(Object.values(loaded.model.P));
  loaded = null;
}

function featureMap(db: Db, ws: Workspace, run: RunRecord, imageId: number): tf.Tensor4D {
  const im = db.prepare('SELECT content_hash FROM images WHERE id = ?').get(imageId) as
    { content_hash: string } | undefined;
  if (!im) throw notFound(`no image ${imageId}`);
  const cache = new FeatureCache(ws.features, run.encoder);
  if (!cache.has(im.content_hash))
    throw unavailable(`image ${imageId} has no cached '${run.encoder}' features (run extract first)`);
  const { data, shape } = cache.get(im.content_hash);
  return tf.tensor4d(data, [1, ...shape]);
}

export async function imageCams(db: Db, ws: Workspace, runId: string, imageId: number): Promise<ImageCams> {
  await initBackend();
  const { model, run } = modelFor(db, ws, runId);
  const A = featureMap(db, ws, run, imageId);
  const [, H, W] = A.shape;
  const cams = camsOfProductCaption(model, A);
  try {
    const cls = cams.cam_cls_pred ? normaliseMap(cams.cam_cls_pred.dataSync()) : [];
    const cap = cams.cam_cap_pred ? normaliseMap(cams.cam_cap_pred.dataSync()) : [];
    const words = cams.pred_captions ? captionWords(cams.pred_captions.dataSync(), model.words) : [];
    const ci = cams.class_pred ? cams.class_pred.dataSync()[0] : null;
    let predClass: string | null = null;
    if (ci !== null) {
      const row = db.prepare('SELECT name FROM classes WHERE id = ?').get(model.classIds[ci]) as
        { name: string } | undefined;
      predClass = row?.name ?? null;
    }
    return {
      runId: run.id,
      H,
      W,
      cls,
      cap,
      disagreement: cls.length && cap.length ? cls.map((x, i) => Math.abs(x - cap[i])) : [],
      words,
      predClass,
      caption: cams.pred_captions ? words.join(' ') : null,
    };
  } finally {
    A.dispose();
    tf.dispose(Object.values(cams) as tf.Tensor[]);
  }
}

/** The CAM of the log-probability of word `wordIndex` (0-based among the caption's words) of the model's caption. */
export async function imageWordCam(
  db: Db,
  ws: Workspace,
  runId: string,
  imageId: number,
  wordIndex: number,
): Promise<{ runId: string; H: number; W: number; word: string; cam: number[] }> {
  await initBackend();
  const { model, run } = modelFor(db, ws, runId);
  if (!hasCap(model.variant)) throw invalidRequest(`run ${run.id} (${model.variant}) has no captioner`);
  const A = featureMap(db, ws, run, imageId);
  const [, H, W] = A.shape;
  try {
    const caps = productCaptions(model, A)!;
    try {
      const words = captionWords(caps.dataSync(), model.words);
      if (wordIndex >= words.length)
        throw invalidRequest(`word ${wordIndex} outside the caption's ${words.length} words`);
      // The caption tensor starts with <bos>: word i is the target at position i + 1.
      const cam = wordCam(model.P, model.variant, A, caps as tf.Tensor2D, wordIndex + 1);
      const out = normaliseMap(cam.dataSync());
      cam.dispose();
      return { runId: run.id, H, W, word: words[wordIndex], cam: out };
    } finally {
      caps.dispose();
    }
  } finally {
    A.dispose();
  }
}
