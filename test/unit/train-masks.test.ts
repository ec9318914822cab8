/**
 * Masks in training (μ·L_mask, docs/design.md: The model): the term changes only f_medi's gradient, and only
 * through the rows that have a mask; the training job reads painted masks and (with partMasks)
 * masks generated from part locations, and actually feeds them to Algorithm 1.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveMask, partMaskGrid } from '../../src-main/data/masks.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { checkpointPaths } from '../../src-main/jobs/run-artifact.ts';
import type { TrainConfig } from '../../src-main/jobs/train/config.ts';
import { runTraining } from '../../src-main/jobs/train/loop.ts';
import { loadMasks } from '../../src-main/jobs/train/masks.ts';
import { Mulberry32 as Rng } from '../../src-main/util/rng.ts';
import { algorithm1Grads, type Batch } from '../../src-main/ml/algorithm1.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import { FeatureCache } from '../../src-main/ml/feature-cache.ts';
import { initParams } from '../../src-main/ml/model.ts';
import { readSafetensors } from '../../src-main/ml/safetensors.ts';

beforeAll(async () => {
  process.env.PLUMAGE_BACKEND = process.env.PLUMAGE_BACKEND || 'wasm';
  await initBackend();
});

const B = 4;
const [H, W, K] = [3, 3, 6];
const dims = { K, D: 8, E: 4, Hd: 8, V: 7, C: 3 };

function batchData(seed: number) {
  const r = new Rng(seed);
  return {
    A: Float32Array.from({ length: B * H * W * K }, () => r.next()),
    labels: [0, 1, 2, 1],
    caps: [1, 4, 5, 2, 0, 1, 6, 2, 0, 0, 1, 4, 6, 5, 2, 1, 5, 2, 0, 0],
    masks: Float32Array.from({ length: B * H * W }, () => r.next()),
  };
}

/**
 * Parameter seed: with these weights every row's ground-truth CAMs have several positive cells, so
 * the mask term's gradient is far from 0 (a CAM with one positive cell is a scaled one-hot map,
 * its cosine with any mask ignores the scale, and the true gradient is exactly 0).
 */
const PARAM_SEED = 2;

/**
 * Gradients of one step on rows `rows` of the 4-row batch (maskRows and masks are given for all 4
 * rows); fixed predictions so only μ differs. `shift` adds a delta to one parameter (finite differences).
 */
function grads(
  rows: number[],
  mu: number,
  maskRows: number[] | null,
  masks?: Float32Array,
  terms: 'all' | 'cam' = 'all',
  shift?: { key: string; by: Float32Array },
) {
  const d = batchData(5);
  const n = rows.length;
  const pick = (a: ArrayLike<number>, w: number) =>
    rows.flatMap((i) => Array.from(a).slice(i * w, (i + 1) * w));
  const P = initParams('cam', dims, PARAM_SEED);
  if (shift) {
    const p = P[shift.key];
    tf.tidy(() => p.assign(tf.add(p, tf.tensor(shift.by, p.shape))));
  }
  const batch: Batch = {
    A: tf.tensor4d(pick(d.A, H * W * K), [n, H, W, K]),
    labels: tf.tensor1d(pick(d.labels, 1), 'int32'),
    captions: tf.tensor2d(pick(d.caps, 5), [n, 5], 'int32'),
  };
  if (maskRows) {
    batch.masks = tf.tensor3d(pick(masks ?? d.masks, H * W), [n, H, W]);
    batch.maskRows = tf.tensor1d(pick(maskRows, 1), 'float32');
  }
  const res = algorithm1Grads(P, 'cam', batch, {
    lambda: terms === 'cam' ? 0 : 1,
    mu,
    terms,
    classPred: tf.tensor1d([2, 0, 1, 1].slice(0, n), 'int32'),
    predCaptions: tf.tensor2d(
      pick([1, 5, 2, 0, 0, 1, 4, 4, 2, 0, 1, 6, 2, 0, 0, 1, 5, 5, 6, 2], 5),
      [n, 5],
      'int32',
    ),
  });
  const out = Object.fromEntries(
    Object.entries(res.grads).map(([k, g]) => [k, g.dataSync().slice() as Float32Array]),
  );
  tf.dispose([...Object.values(res.grads), ...Object.values(P), ...Object.values(batch)]);
  return { g: out, mask: res.losses.mask };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

describe('μ·L_mask gradient', () => {
  const rows = [0, 1, 2, 3];
  // computed after beforeAll has set the backend (describe bodies run before it)
  let base: ReturnType<typeof grads>;
  let masked: ReturnType<typeof grads>;
  beforeAll(() => {
    base = grads(rows, 0, null);
    masked = grads(rows, 2, [1, 0, 0, 0]);
  });

  it('changes f_medi gradients and leaves the classifier and captioner gradients alone', () => {
    expect(masked.mask).toBeGreaterThan(0);
    for (const k of Object.keys(base.g)) {
      const diff = maxAbsDiff(masked.g[k], base.g[k]);
      if (k === 'medi.weight') expect(diff, k).toBeGreaterThan(0);
      else if (!k.startsWith('medi.')) expect(diff, k).toBe(0);
    }
  });

  // terms 'cam' with λ = 0: the gradient of μ·L_mask alone (medi.* only), no large terms around it
  const maskOnly = (rs: number[], maskRows: number[], masks?: Float32Array) =>
    grads(rs, 2, maskRows, masks, 'cam').g;

  it('is non-zero only through rows with a mask: other rows’ masks are ignored, no mask gives 0', () => {
    const g = maskOnly(rows, [1, 0, 0, 0]);
    expect(Object.keys(g).every((k) => k.startsWith('medi.'))).toBe(true);
    expect(maxAbs(g['medi.weight'])).toBeGreaterThan(1e-3);
    const other = batchData(99).masks;
    const d = batchData(5).masks;
    // the same mask in row 0, different garbage in rows 1–3 (maskRows 0 there)
    const mixed = Float32Array.from(d, (x, i) => (i < H * W ? x : other[i]));
    const g2 = maskOnly(rows, [1, 0, 0, 0], mixed);
    for (const k of Object.keys(g)) expect(maxAbsDiff(g2[k], g[k]), k).toBe(0);
    const none = maskOnly(rows, [0, 0, 0, 0]);
    for (const k of Object.keys(g)) expect(maxAbs(none[k]), k).toBe(0);
    // a different mask in row 0 changes it
    const g3 = maskOnly(
      rows,
      [1, 0, 0, 0],
      Float32Array.from(d, (x, i) => (i < H * W ? other[i] : x)),
    );
    expect(maxAbsDiff(g3['medi.weight'], g['medi.weight'])).toBeGreaterThan(1e-3);
  });

  it('has the fixture’s true, clearly non-zero gradient: central finite differences agree', () => {
    const g = maskOnly(rows, [1, 0, 0, 0])['medi.weight'];
    const norm = Math.hypot(...g);
    expect(norm).toBeGreaterThan(1e-2);
    // along the gradient's direction, d(μ·L_mask)/dε = |g|
    const eps = 1e-3;
    const lossAt = (e: number) =>
      grads(rows, 2, [1, 0, 0, 0], undefined, 'cam', {
        key: 'medi.weight',
        by: g.map((x) => (e * x) / norm),
      }).mask;
    const fd = (2 * (lossAt(eps) - lossAt(-eps))) / (2 * eps);
    expect(Math.abs(fd - norm)).toBeLessThan(0.02 * norm);
  });

  it('is the sum of the masked rows’ own gradients, divided by the batch size', () => {
    const g = maskOnly(rows, [1, 0, 1, 0]);
    // each half-batch has B/2 rows, so its gradient is (row's gradient)/(B/2)
    const h0 = maskOnly([0, 1], [1, 0, 1, 0]);
    const h2 = maskOnly([2, 3], [1, 0, 1, 0]);
    for (const k of Object.keys(g)) {
      const want = h0[k].map((x, i) => (x + h2[k][i]) / 2);
      expect(maxAbsDiff(g[k], want), k).toBeLessThanOrEqual(1e-4 * maxAbs(want) + 1e-12);
    }
  });
});

/** 3 classes × 4 images (3 train, 1 test) with 3×3×6 maps and captions; 40×30 px images. */
function fixture(): { home: string; ids: number[] } {
  const home = mkdtempSync(join(tmpdir(), 'plumage-masks-'));
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  const col = db
    .prepare(`INSERT INTO collections (name, root, kind) VALUES ('t', ?, 'folder')`)
    .run(home).lastInsertRowid;
  const part = db
    .prepare(`INSERT INTO parts (collection_id, source_id, name) VALUES (?, 1, 'beak')`)
    .run(col).lastInsertRowid;
  const cache = new FeatureCache(ws.features, 'test_enc');
  const r = new Rng(4);
  const ids: number[] = [];
  for (let c = 0; c < 3; c++) {
    const cls = db
      .prepare(`INSERT INTO classes (collection_id, name) VALUES (?, ?)`)
      .run(col, `s${c}`).lastInsertRowid;
    for (let i = 0; i < 4; i++) {
      const hash = `m${c}${i}`.padEnd(64, '0');
      const id = Number(
        db
          .prepare(
            `INSERT INTO images (collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height) VALUES (?, ?, ?, ?, 1, 0, 40, 30)`,
          )
          .run(col, `${c}/${i}.png`, `${i}.png`, hash).lastInsertRowid,
      );
      ids.push(id);
      db.prepare(`INSERT INTO labels (image_id, class_id, provenance) VALUES (?, ?, 'imported')`).run(
        id,
        cls,
      );
      db.prepare(`INSERT INTO captions (image_id, ord, text, provenance) VALUES (?, 0, ?, 'imported')`).run(
        id,
        `a bird of kind ${c}`,
      );
      db.prepare(`INSERT INTO splits (scheme, image_id, part) VALUES ('default', ?, ?)`).run(
        id,
        i < 3 ? 'train' : 'test',
      );
      if (i > 0)
        db.prepare(
          `INSERT INTO part_locations (image_id, part_id, x, y, visible) VALUES (?, ?, ?, ?, 1)`,
        ).run(id, part, 5 + 10 * i, 25);
      cache.put(
        hash,
        Float32Array.from({ length: H * W * K }, (_, k) => r.next() + (k % K === c ? 1 : 0)),
        [H, W, K],
      );
    }
  }
  db.close();
  return { home, ids };
}

describe('training job reads and uses masks', () => {
  it('loadMasks: painted mask first, parts only with partMasks, none otherwise', async () => {
    const { home, ids } = fixture();
    const db = openDb(workspace(home).dbPath);
    // image 0 has no parts; paint its left third; image 1 has parts AND a painted mask
    const px = Buffer.alloc(40 * 30);
    for (let y = 0; y < 30; y++) for (let x = 0; x < 13; x++) px[y * 40 + x] = 255;
    const png = await sharp(px, { raw: { width: 40, height: 30, channels: 1 } })
      .png()
      .toBuffer();
    await saveMask(db, ids[0], 40, 30, png);
    await saveMask(db, ids[1], 40, 30, png);
    const painted = await loadMasks(db, [ids[0], ids[1], ids[2]], H, W);
    expect([...painted.masks.keys()]).toEqual([ids[0], ids[1]]);
    expect(painted).toMatchObject({ painted: 2, fromParts: 0 });
    expect(Array.from(painted.masks.get(ids[0])!).map((v) => Math.round(v * 100) / 100)).toEqual([
      0.98, 0, 0, 0.98, 0, 0, 0.98, 0, 0,
    ]);
    const withParts = await loadMasks(db, [ids[0], ids[1], ids[2]], H, W, {
      partMasks: true,
      partSigma: 0.1,
    });
    expect(withParts).toMatchObject({ painted: 2, fromParts: 1 });
    expect(withParts.masks.get(ids[1])).toEqual(painted.masks.get(ids[1])); // painted wins
    expect(withParts.masks.get(ids[2])).toEqual(partMaskGrid(db, ids[2], H, W, 0.1));
    db.close();
  });

  it('μ > 0 with part masks changes the trained weights; μ > 0 without any mask does not', async () => {
    const cfg: Partial<TrainConfig> & { variant: 'medi' } = {
      variant: 'medi',
      encoder: 'test_enc',
      dims: 'tiny',
      epochs: 2,
      batch: 4,
      lr: 0.05,
      seed: 2,
      maxLen: 8,
      patience: 10,
    };
    const { home } = fixture();
    const w = async (c: Partial<TrainConfig>) => {
      const logs: string[] = [];
      const res = await runTraining({
        home,
        config: { ...cfg, ...c },
        onEvent: (e) => e.type === 'log' && logs.push(e.message),
      });
      expect(res.status).toBe('done');
      return {
        t: readSafetensors(checkpointPaths(workspace(home), res.run).resumeWeights).tensors,
        res,
        logs,
      };
    };
    const plain = await w({ mu: 0 });
    const noMasks = await w({ mu: 1 });
    const parts = await w({ mu: 1, partMasks: true, partSigma: 0.1 });
    expect(noMasks.res.warnings.join()).toMatch(/no training image has a painted mask/);
    expect(parts.logs.join('\n')).toMatch(/masks: 0 painted, [1-9]\d* from part locations/);
    const same = (a: typeof plain, b: typeof plain, name: string) =>
      maxAbsDiff(a.t[name].data as Float32Array, b.t[name].data as Float32Array);
    for (const name of Object.keys(plain.t).filter((n) => !n.startsWith('opt.')))
      expect(same(noMasks, plain, name), name).toBe(0);
    expect(same(parts, plain, 'medi.weight')).toBeGreaterThan(0);
  });
});
