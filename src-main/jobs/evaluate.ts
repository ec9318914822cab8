/**
 * Evaluation of a trained run (docs/design.md: Metrics): classification (top-1, top-5, per-class accuracy,
 * confusion matrix) and captioning (BLEU-1..4, METEOR, ROUGE-L, CIDEr-D of the model's greedy
 * caption against all the image's captions) on the test part of the run's split, plus the
 * explanation metrics `cam_agreement` and `pointing`. The result is stored in runs.metrics.
 *
 * Runs on cached encoder features (the CNN is never run again), in batches.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { getRun, updateRun, type RunRecord } from '../data/runs.ts';
import { openDb, type Db } from '../data/store.ts';
import { workspace, type Workspace } from '../data/workspace.ts';
import { initBackend } from '../ml/backend.ts';
import { FeatureCache } from '../ml/feature-cache.ts';
import { camsFor } from '../ml/gradcam.ts';
import { describeDecoding, productDecode, productSettings, type BeamOptions } from '../ml/decode.ts';
import { repetitionScores, scoreCaptions } from '../ml/metrics/index.ts';
import { feature, hasCap, hasCls, pooled, predict } from '../ml/model.ts';
import type { CamExample, EvalResult, PerClassAccuracy, ProductCaptionMetrics } from '../../shared/types.ts';
import { loadRunModel, type RunModel } from './run-artifact.ts';
import { decode as decodeIds, vocabFromJSON } from '../ml/vocab.ts';
import { notFound, unavailable } from '../util/errors.ts';

export interface EvalOptions {
  home: string;
  runId: string;
  /** Split scheme (default: the run's config.split, else 'default'). */
  scheme?: string;
  /** Part of the scheme evaluated (default 'test'). */
  part?: string;
  batchSize?: number;
  /** How many worst-captioned images to list (default 10). */
  worst?: number;
  /** How many CAM examples to keep for the report (default 6). */
  camExamples?: number;
  /** Options of the product decoding scored beside greedy (default PRODUCT_DECODING); false skips it. */
  productDecoding?: BeamOptions | false;
  onProgress?: (done: number, total: number) => void;
}

// The result's shape is shared with the renderer (the runs dashboard shows it).
export type { CamExample, EvalResult, ProductCaptionMetrics } from '../../shared/types.ts';


interface TestImage {
  id: number;
  file_name: string;
  rel_path: string;
  root: string;
  content_hash: string;
  width: number;
  height: number;
  class_id: number | null;
  bbox: [number, number, number, number] | null;
}

function testImages(db: Db, collectionId: number | null, scheme: string, part: string): TestImage[] {
  const rows = db
    .prepare(
      `SELECT i.id, i.file_name, i.rel_path, c.root, i.content_hash, i.width, i.height, l.class_id,
              i.bbox_x, i.bbox_y, i.bbox_w, i.bbox_h
         FROM splits s JOIN images i ON i.id = s.image_id JOIN collections c ON c.id = i.collection_id
         LEFT JOIN labels l ON l.image_id = i.id
        WHERE s.scheme = ? AND s.part = ? AND (? IS NULL OR i.collection_id = ?)
        ORDER BY i.id`,
    )
    .all(scheme, part, collectionId, collectionId) as (Omit<TestImage, 'bbox'> & Record<'bbox_x' | 'bbox_y' | 'bbox_w' | 'bbox_h', number | null>)[];
  return rows.map((r) => ({
    id: r.id,
    file_name: r.file_name,
    rel_path: r.rel_path,
    root: r.root,
    content_hash: r.content_hash,
    width: r.width,
    height: r.height,
    class_id: r.class_id,
    bbox: r.bbox_w ? [r.bbox_x!, r.bbox_y!, r.bbox_w, r.bbox_h!] : null,
  }));
}

/**
 * Pointing game hit test. The classifier-CAM peak is the centre of the arg-max cell of the
 * H×W map, mapped to image pixels (the encoder sees the whole image resized). It is a hit when
 * a visible ground-truth part location lies inside that cell's image rectangle grown by
 * POINTING_TOLERANCE_PX on every side (the 15 px tolerance of Zhang et al.'s pointing game):
 * a CAM cannot localise more finely than one cell. An all-zero CAM has no peak: a miss.
 */
export const POINTING_TOLERANCE_PX = 15;
export function pointingHit(
  cam: Float32Array | number[],
  H: number,
  W: number,
  width: number,
  height: number,
  parts: [number, number][],
): { hit: boolean; peak: [number, number] | null } {
  let best = -Infinity;
  let at = -1;
  for (let i = 0; i < H * W; i++) if (cam[i] > best) [best, at] = [cam[i], i];
  if (!(best > 0)) return { hit: false, peak: null };
  const r = Math.floor(at / W);
  const c = at % W;
  const cw = width / W;
  const ch = height / H;
  const x0 = c * cw - POINTING_TOLERANCE_PX;
  const x1 = (c + 1) * cw + POINTING_TOLERANCE_PX;
  const y0 = r * ch - POINTING_TOLERANCE_PX;
  const y1 = (r + 1) * ch + POINTING_TOLERANCE_PX;
  const hit = parts.some(([x, y]) => x >= x0 && x <= x1 && y >= y0 && y <= y1);
  return { hit, peak: [(c + 0.5) * cw, (r + 0.5) * ch] };
}

const to2d = (a: ArrayLike<number>, H: number, W: number, at: number) =>
  Array.from({ length: H }, (_, r) => Array.from({ length: W }, (_, c) => Number(a[at + r * W + c].toPrecision(5))));

/** Whether `len` values from `start` are all zero: a Grad-CAM whose weighted sum is negative everywhere (relu leaves nothing to show). */
function isAllZero(values: Float32Array, start: number, len: number): boolean {
  for (let i = start; i < start + len; i++) if (values[i] !== 0) return false;
  return true;
}

export async function evaluateRun(opts: EvalOptions): Promise<EvalResult> {
  const ws = workspace(opts.home);
  const db = openDb(ws.dbPath);
  try {
    const run = getRun(db, opts.runId);
    if (!run) throw notFound(`no run '${opts.runId}'`);
    await initBackend();
    const model = loadRunModel(ws, run);
    try {
      const result = evaluateWith(db, ws, run, model, opts);
      updateRun(db, run.id, { metrics: result as unknown as Record<string, unknown> });
      return result;
    } finally {
      for (const t of Object.values(model.P)) t.dispose();
    }
  } finally {
    db.close();
  }
}

/** Token ids of the product decoding for a batch of feature maps. */
function productCaptionIds(model: RunModel, A: tf.Tensor4D, o: BeamOptions): number[][] {
  const feat = tf.tidy(() => feature(model.P, model.variant, pooled(A)));
  try {
    const ids = productDecode(model.P, feat, model.T, o, model.prior);
    const rows = ids.arraySync() as number[][];
    ids.dispose();
    return rows;
  } finally {
    feat.dispose();
  }
}

function productMetrics(refs: Record<string, string[]>, cands: Record<string, string>, o: BeamOptions): ProductCaptionMetrics {
  const { bleu1, bleu2, bleu3, bleu4, meteor, rougeL, cider } = scoreCaptions(refs, cands);
  return {
    decode: describeDecoding(o),
    bleu1,
    bleu2,
    bleu3,
    bleu4,
    meteor,
    rougeL,
    cider,
    ...repetitionScores(Object.values(cands)),
  };
}

/** The evaluation itself, on an already loaded model (exported for tests and the demo). */
export function evaluateWith(db: Db, ws: Workspace, run: RunRecord, model: RunModel, opts: Omit<EvalOptions, 'home' | 'runId'> = {}): EvalResult {
  const scheme = opts.scheme ?? (typeof run.config.split === 'string' ? run.config.split : 'default');
  const part = opts.part ?? 'test';
  const clsImages = testImages(db, run.collectionId, scheme, part);
  if (clsImages.length === 0)
    throw unavailable(`split '${scheme}' has no '${part}' images${run.collectionId !== null ? ` in collection ${run.collectionId}` : ''}`);
  // Paper protocol (Table 1): captions are evaluated on the held-out caption classes.
  let captionSplit = { scheme, part };
  let capImages = clsImages;
  if (scheme === 'paper' && opts.part === undefined) {
    const held = testImages(db, run.collectionId, 'paper-caption', 'caption_test');
    if (held.length) {
      capImages = held;
      captionSplit = { scheme: 'paper-caption', part: 'caption_test' };
    }
  }
  const isCls = new Set(clsImages.map((im) => im.id));
  const isCap = new Set(capImages.map((im) => im.id));
  const images = [...new Map([...clsImages, ...capImages].map((im) => [im.id, im])).values()].sort((a, b) => a.id - b.id);
  const cache = new FeatureCache(ws.features, run.encoder);
  const missing = images.filter((im) => !cache.has(im.content_hash));
  if (missing.length) throw unavailable(`${missing.length} test image(s) have no cached '${run.encoder}' features (run plumage extract first), e.g. ${missing[0].rel_path}`);

  const capsOf = db.prepare('SELECT text FROM captions WHERE image_id = ? AND deleted = 0 AND accepted = 1 ORDER BY ord');
  const partsOf = db.prepare('SELECT x, y FROM part_locations WHERE image_id = ? AND visible = 1');
  const className = new Map(
    (db.prepare('SELECT id, name FROM classes').all() as { id: number; name: string }[]).map((r) => [r.id, r.name]),
  );
  const { variant, classIds, T } = model;
  const vocab = hasCap(variant) ? vocabFromJSON({ words: model.words }) : null;
  const C = classIds.length;
  const classIndex = new Map(classIds.map((id, i) => [id, i]));
  const confusion = hasCls(variant) ? Array.from({ length: C }, () => new Array<number>(C).fill(0)) : null;
  let nCls = 0;
  let top1 = 0;
  let top5 = 0;
  const refs: Record<string, string[]> = {};
  const cands: Record<string, string> = {};
  const productCands: Record<string, string> = {};
  const productOpts = hasCap(variant) && opts.productDecoding !== false ? (opts.productDecoding ?? {}) : null;
  let agreeSum = 0;
  let agreeN = 0;
  let pointN = 0;
  let pointHits = 0;
  let camClsN = 0;
  let camClsEmpty = 0;
  const examples: CamExample[] = [];
  const nExamples = opts.camExamples ?? 6;
  const B = opts.batchSize ?? 32;

  for (let s = 0; s < images.length; s += B) {
    const batch = images.slice(s, s + B);
    const { data, shape } = cache.getBatch(batch.map((im) => im.content_hash));
    const [, H, W] = shape;
    const A = tf.tensor4d(data, shape);
    const pred = predict(model.P, variant, A, { T });
    const logits = pred.logits ? (pred.logits.arraySync() as number[][]) : null;
    const capIds = pred.captions ? (pred.captions.arraySync() as number[][]) : null;
    const productIds = productOpts ? productCaptionIds(model, A, productOpts) : null;
    const classPred = pred.logits ? (tf.tidy(() => tf.argMax(pred.logits!, 1).toInt()) as tf.Tensor1D) : undefined;
    const cams = camsFor(model.P, variant, A, null, null, { T, classPred, predCaptions: pred.captions });
    const camCls = cams.cam_cls_pred ? (cams.cam_cls_pred.dataSync() as Float32Array) : null;
    const camCap = cams.cam_cap_pred ? (cams.cam_cap_pred.dataSync() as Float32Array) : null;
    const agree = cams.cam_agreement ? cams.cam_agreement.dataSync() : null;
    batch.forEach((im, b) => {
      let predClass: number | null = null;
      if (!isCls.has(im.id)) {
        if (logits) predClass = logits[b].indexOf(Math.max(...logits[b]));
      } else if (logits && im.class_id !== null && classIndex.has(im.class_id)) {
        const row = logits[b];
        const order = row.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
        const gt = classIndex.get(im.class_id)!;
        predClass = order[0][1];
        nCls++;
        if (predClass === gt) top1++;
        if (order.slice(0, 5).some(([, i]) => i === gt)) top5++;
        confusion![gt][predClass]++;
      } else if (logits) {
        predClass = logits[b].indexOf(Math.max(...logits[b]));
      }
      const caption = capIds && vocab ? decodeIds(vocab, capIds[b]) : null;
      const imageRefs = isCap.has(im.id) ? (capsOf.all(im.id) as { text: string }[]).map((r) => r.text) : [];
      if (caption !== null && imageRefs.length) {
        refs[String(im.id)] = imageRefs;
        cands[String(im.id)] = caption;
        if (productIds) productCands[String(im.id)] = decodeIds(vocab!, productIds[b]);
      }
      if (agree && isCls.has(im.id)) {
        agreeSum += agree[b];
        agreeN++;
      }
      let peak: [number, number] | null = null;
      let hit: boolean | null = null;
      if (camCls && isCls.has(im.id)) {
        camClsN++;
        if (isAllZero(camCls, b * H * W, H * W)) camClsEmpty++;
        const partsXY = (partsOf.all(im.id) as { x: number; y: number }[]).map((p) => [p.x, p.y] as [number, number]);
        if (partsXY.length) {
          const cell = camCls.subarray(b * H * W, (b + 1) * H * W);
          ({ hit, peak } = pointingHit(cell, H, W, im.width, im.height, partsXY));
          pointN++;
          if (hit) pointHits++;
        }
      }
      if (examples.length < nExamples && isCls.has(im.id)) {
        examples.push({
          image_id: im.id,
          file: im.file_name,
          path: join(im.root, im.rel_path),
          true_class: im.class_id !== null ? (className.get(im.class_id) ?? null) : null,
          pred_class: predClass !== null ? (className.get(classIds[predClass]) ?? null) : null,
          caption,
          cam_cls: camCls ? to2d(camCls, H, W, b * H * W) : null,
          cam_cap: camCap ? to2d(camCap, H, W, b * H * W) : null,
          peak,
          hit,
        });
      }
    });
    tf.dispose([A, classPred ?? [], pred as unknown as tf.TensorContainer, cams as unknown as tf.TensorContainer]);
    opts.onProgress?.(Math.min(s + B, images.length), images.length);
  }

  const nCap = Object.keys(cands).length;
  const caps = nCap ? scoreCaptions(refs, cands) : null;
  const repetition = nCap ? repetitionScores(Object.values(cands)) : null;
  const product = nCap && productOpts ? productMetrics(refs, productCands, productSettings(productOpts, model.prior)) : null;
  const per_class: PerClassAccuracy[] = [];
  if (confusion)
    classIds.forEach((id, i) => {
      const n = confusion[i].reduce((a, b) => a + b, 0);
      if (n) per_class.push({ class_id: id, name: className.get(id) ?? String(id), n, correct: confusion[i][i], top1: confusion[i][i] / n });
    });
  const worst = caps
    ? Object.entries(caps.per_image)
        .sort((a, b) => a[1].cider - b[1].cider || Number(a[0]) - Number(b[0]))
        .slice(0, opts.worst ?? 10)
        .map(([id, s]) => ({
          image_id: Number(id),
          file: images.find((im) => String(im.id) === id)!.file_name,
          candidate: cands[id],
          references: refs[id],
          cider: s.cider,
          meteor: s.meteor,
        }))
    : [];
  return {
    run: run.id,
    variant,
    top1: nCls ? top1 / nCls : null,
    top5: nCls ? top5 / nCls : null,
    bleu1: caps?.bleu1 ?? null,
    bleu2: caps?.bleu2 ?? null,
    bleu3: caps?.bleu3 ?? null,
    bleu4: caps?.bleu4 ?? null,
    meteor: caps?.meteor ?? null,
    rougeL: caps?.rougeL ?? null,
    cider: caps?.cider ?? null,
    cam_agreement: agreeN ? agreeSum / agreeN : null,
    pointing: pointN ? pointHits / pointN : null,
    empty_cls_cam: camClsN ? camClsEmpty / camClsN : null,
    decode: 'greedy',
    repeated_bigram_share: repetition?.repeated_bigram_share ?? null,
    distinct2: repetition?.distinct2 ?? null,
    product,
    split: { scheme, part },
    caption_split: captionSplit,
    n_images: clsImages.length,
    n_captioned: nCap,
    n_pointing: pointN,
    per_class,
    confusion: confusion ? { classes: classIds.map((id) => className.get(id) ?? String(id)), matrix: confusion } : null,
    worst,
    cam_examples: examples,
    evaluated_at: new Date().toISOString(),
  };
}
