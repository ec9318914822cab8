/**
 * Pointing-game experiment for curator masks (issue 6): trains the cam variant twice from the same
 * initialisation and batch order — once without masks (μ = 0, the paper) and once with masks
 * (painted ones from data/masks.ts where they exist, else generated from the part annotations
 * with partMaskGrid) and μ > 0 — then measures the pointing game (classifier-CAM peak inside a
 * visible part, evaluate.ts's pointingHit) and top-1 on the test split.
 *
 * It has its own small training loop because jobs/train.ts does not feed masks into its batches
 * yet (see docs/app.md); the step itself is the model's Algorithm 1 (algorithm1Grads with
 * batch.masks / maskRows) and the optimiser is ml/optim.ts's Adam.
 *
 *   node bin/plumage.js demo --home H --variants cnn --epochs 1 …     # synth + import + extract
 *   node --import tsx bench/mask-pointing.ts --home H [--epochs 8] [--mu 1] [--seed 1] [--json]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { maskGrid, PART_SIGMA, partMaskGrid } from '../src-main/data/masks.ts';
import { openDb } from '../src-main/data/store.ts';
import { workspace } from '../src-main/data/workspace.ts';
import { pointingHit } from '../src-main/jobs/evaluate.ts';
import { buildVocab, DIMS, encodeCaption, loadDataset, type Example } from '../src-main/jobs/train.ts';
import { algorithm1Grads } from '../src-main/ml/algorithm1.ts';
import { initBackend } from '../src-main/ml/backend.ts';
import { FeatureCache } from '../src-main/ml/feature-cache.ts';
import { camsFor } from '../src-main/ml/gradcam.ts';
import { initParams, rng as mulberry } from '../src-main/ml/model.ts';
import { applyGrads, createOptimState } from '../src-main/ml/optim.ts';
import { readdirSync } from 'node:fs';

const { values } = parseArgs({
  options: {
    home: { type: 'string' },
    epochs: { type: 'string', default: '8' },
    mu: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '0.002' },
    dims: { type: 'string', default: 'small' },
    sigma: { type: 'string', default: String(PART_SIGMA) },
    json: { type: 'boolean', default: false },
  },
});
if (!values.home) throw new Error('--home H (a workspace with an imported, extracted synthetic collection)');
const epochs = Number(values.epochs);
const mu = Number(values.mu);
const seed = Number(values.seed);
const B = Number(values.batch);
const lr = Number(values.lr);
const T = 20;

const backend = await initBackend();
const ws = workspace(values.home);
const db = openDb(ws.dbPath);
const data = loadDataset(db, { split: 'default', seed });
const encoders = readdirSync(ws.features);
const cache = new FeatureCache(
  ws.features,
  encoders.find((e) => data.train.every((x) => new FeatureCache(ws.features, e).has(x.hash))) ?? encoders[0],
);
const [H, W, K] = cache.get(data.train[0].hash).shape;
const vocab = buildVocab(
  data.train.flatMap((e) => e.captions),
  1,
);
const index = new Map(vocab.map((w, i) => [w, i]));
const dims = { K, ...DIMS[values.dims as keyof typeof DIMS], V: vocab.length, C: data.classes.length };

/** The mask of an image at the CAM grid: painted if any, else from its parts. */
const maskOf = (e: Example) =>
  maskGrid(db, e.imageId, H, W) ?? partMaskGrid(db, e.imageId, H, W, Number(values.sigma));

function train(withMasks: boolean) {
  const P = initParams('cam', dims, seed);
  const opt = createOptimState();
  const r = mulberry(seed * 7919);
  const t0 = Date.now();
  let masked = 0;
  for (let ep = 0; ep < epochs; ep++) {
    const perm = data.train.map((_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    for (let s = 0; s < perm.length; s += B) {
      const exs = perm.slice(s, s + B).map((i) => data.train[i]);
      const f = cache.getBatch(exs.map((e) => e.hash));
      const caps = new Int32Array(exs.length * T);
      exs.forEach((e, j) =>
        caps.set(
          encodeCaption(e.captions.length ? e.captions[Math.floor(r() * e.captions.length)] : '', index, T),
          j * T,
        ),
      );
      const A = tf.tensor4d(f.data, f.shape);
      const labels = tf.tensor1d(
        exs.map((e) => e.label),
        'int32',
      );
      const captions = tf.tensor2d(caps, [exs.length, T], 'int32');
      let masks: tf.Tensor3D | undefined;
      let maskRows: tf.Tensor1D | undefined;
      if (withMasks) {
        const m = new Float32Array(exs.length * H * W);
        const rows = exs.map((e, j) => {
          const g = maskOf(e);
          if (g) m.set(g, j * H * W);
          return g ? 1 : 0;
        });
        masked += rows.reduce((a: number, b) => a + b, 0);
        masks = tf.tensor3d(m, [exs.length, H, W]);
        maskRows = tf.tensor1d(rows, 'float32');
      }
      const res = algorithm1Grads(
        P,
        'cam',
        { A, labels, captions, masks, maskRows },
        { lambda: 1, mu: withMasks ? mu : 0 },
      );
      applyGrads(P, res.grads, { kind: 'adam', lr }, opt);
      tf.dispose([A, labels, captions, ...(masks ? [masks, maskRows!] : []), ...Object.values(res.grads)]);
      res.classPred?.dispose();
      res.predCaptions?.dispose();
    }
  }
  return { P, seconds: (Date.now() - t0) / 1000, maskedPairs: masked };
}

function evaluate(P: ReturnType<typeof initParams>) {
  const partsOf = db.prepare('SELECT x, y FROM part_locations WHERE image_id = ? AND visible = 1');
  const sizeOf = db.prepare('SELECT width, height FROM images WHERE id = ?');
  let hits = 0;
  let n = 0;
  let correct = 0;
  for (let s = 0; s < data.test.length; s += 32) {
    const exs = data.test.slice(s, s + 32);
    const f = cache.getBatch(exs.map((e) => e.hash));
    const A = tf.tensor4d(f.data, f.shape);
    const c = camsFor(P, 'cam', A, null, null, { T });
    const cams = c.cam_cls_pred!.dataSync() as Float32Array;
    const pred = c.class_pred!.dataSync();
    exs.forEach((e, j) => {
      if (pred[j] === e.label) correct++;
      const parts = (partsOf.all(e.imageId) as { x: number; y: number }[]).map(
        (p) => [p.x, p.y] as [number, number],
      );
      if (!parts.length) return;
      const { width, height } = sizeOf.get(e.imageId) as { width: number; height: number };
      n++;
      if (pointingHit(cams.subarray(j * H * W, (j + 1) * H * W), H, W, width, height, parts).hit) hits++;
    });
    tf.dispose([A, ...(Object.values(c) as tf.Tensor[])]);
  }
  return {
    pointing: n ? hits / n : null,
    top1: data.test.length ? correct / data.test.length : null,
    n_pointing: n,
  };
}

const base = train(false);
const baseEval = evaluate(base.P);
tf.dispose(Object.values(base.P));
const withM = train(true);
const maskEval = evaluate(withM.P);
tf.dispose(Object.values(withM.P));
db.close();

const out = {
  backend: backend.name,
  encoder: cache.encoderId,
  grid: [H, W],
  train: data.train.length,
  test: data.test.length,
  epochs,
  mu,
  sigma: Number(values.sigma),
  seed,
  without_masks: { ...baseEval, seconds: base.seconds },
  with_masks: { ...maskEval, seconds: withM.seconds, masked_pairs: withM.maskedPairs },
};
if (values.json) console.log(JSON.stringify(out));
else console.log(JSON.stringify(out, null, 2));
