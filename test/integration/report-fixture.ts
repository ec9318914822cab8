/**
 * A tiny workspace with hand-built features and hand-built weights whose evaluation is known
 * in advance (used by the eval and report tests; no encoder, no training):
 *  - 3 classes × 4 images, all in split 'default' part 'test', 90×90 px, 3×3×6 feature maps;
 *  - an image of class c has channel c = 1 everywhere and 5 at its "hot" cell; one image
 *    labelled class 0 carries class 1's features (a known misclassification);
 *  - cnn/medi/cam classify by channel (logit_c = v_c), so their classifier CAM peaks at the
 *    hot cell; a visible part sits in the hot cell except for 3 images (a known pointing miss);
 *  - captioners are seeded random LSTMs (their captions are whatever they decode).
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addCaption, setLabel } from '../../src-main/data/annotations.ts';
import { createRun, updateRun } from '../../src-main/data/runs.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { FeatureCache } from '../../src-main/ml/feature-cache.ts';
import { initParams, type ModelDims, type Variant } from '../../src-main/ml/model.ts';
import { writeSafetensors } from '../../src-main/ml/safetensors.ts';

export const ENCODER = 'fixture-enc';
export const SIZE = 90;
export const WORDS = ['<pad>', '<bos>', '<eos>', '<unk>', 'a', 'bird', 'red', 'blue', 'green', 'with', 'wings', 'small'];
const COLOURS = ['red', 'blue', 'green'];

export interface FixtureImage {
  id: number;
  trueClass: number;
  featureClass: number;
  hot: [number, number];
  partHit: boolean;
}

export interface Fixture {
  home: string;
  images: FixtureImage[];
  runs: Record<Variant, string>;
  expected: { top1: number; pointing: number; perClass: number[] };
}

export function buildFixture(home: string): Fixture {
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  const col = Number(
    db.prepare("INSERT INTO collections(name, root, kind) VALUES ('fixture', ?, 'folder')").run(join(home, 'photos')).lastInsertRowid,
  );
  const classIds = COLOURS.map((c) => Number(db.prepare('INSERT INTO classes(collection_id, name) VALUES (?, ?)').run(col, `${c} bird`).lastInsertRowid));
  const partId = Number(db.prepare("INSERT INTO parts(collection_id, source_id, name) VALUES (?, 1, 'crown')").run(col).lastInsertRowid);
  const cache = new FeatureCache(ws.features, ENCODER);
  const images: FixtureImage[] = [];
  let n = 0;
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < 4; k++) {
      const featureClass = c === 0 && k === 3 ? 1 : c;
      const hot: [number, number] = [(c + k) % 3, (2 * c + k) % 3];
      const partHit = !(k === 1);
      const hash = `fixture${String(n).padStart(4, '0')}`;
      const id = Number(
        db
          .prepare(
            `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
             VALUES (?, ?, ?, ?, 1, 0, ?, ?)`,
          )
          .run(col, `img${n}.jpg`, `img${n}.jpg`, hash, SIZE, SIZE).lastInsertRowid,
      );
      setLabel(db, id, classIds[c], 'imported');
      addCaption(db, id, `a small ${COLOURS[c]} bird with ${COLOURS[(c + 1) % 3]} wings`, 'imported');
      addCaption(db, id, `a ${COLOURS[c]} bird`, 'imported');
      db.prepare("INSERT INTO splits(scheme, image_id, part) VALUES ('default', ?, 'test')").run(id);
      // Part location: centre of the hot cell, or the far corner of the image for a miss.
      const cell = SIZE / 3;
      const [px, py] = partHit ? [(hot[1] + 0.5) * cell, (hot[0] + 0.5) * cell] : [hot[1] === 0 ? SIZE - 2 : 2, hot[0] === 0 ? SIZE - 2 : 2];
      db.prepare('INSERT INTO part_locations(image_id, part_id, x, y, visible) VALUES (?, ?, ?, ?, 1)').run(id, partId, px, py);
      const map = new Float32Array(3 * 3 * 6);
      for (let p = 0; p < 9; p++) map[p * 6 + featureClass] = 1;
      map[(hot[0] * 3 + hot[1]) * 6 + featureClass] = 5;
      cache.put(hash, map, [3, 3, 6]);
      images.push({ id, trueClass: c, featureClass, hot, partHit });
      n++;
    }
  }

  const dims: ModelDims = { K: 6, D: 8, E: 4, Hd: 8, V: WORDS.length, C: 3 };
  const runs = {} as Record<Variant, string>;
  const epochs = (v: Variant) =>
    Array.from({ length: 5 }, (_, e) => ({
      epoch: e, // 0-based, as the trainer logs it
      loss_class: v === 'lrcn' ? undefined : 1.1 / (e + 1),
      loss_caption: v === 'cnn' ? undefined : 2.5 - 0.3 * e,
      loss_cam: v === 'cam' ? 0.5 / (e + 2) : undefined,
    }));
  for (const variant of ['cnn', 'lrcn', 'medi', 'cam'] as Variant[]) {
    const P = initParams(variant, dims, 7);
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, v] of Object.entries(P)) tensors[name] = { shape: v.shape as number[], data: v.dataSync() as Float32Array };
    const F = variant === 'medi' || variant === 'cam' ? dims.D : dims.K;
    if (tensors['medi.weight']) {
      // h = relu(v W^T + b) with W = [I_6; 0], b = 0: h_c = v_c.
      tensors['medi.weight'].data = new Float32Array(dims.D * dims.K).map((_, i) => (Math.floor(i / dims.K) === i % dims.K ? 1 : 0));
      tensors['medi.bias'].data = new Float32Array(dims.D);
    }
    if (tensors['cls.weight']) {
      tensors['cls.weight'].data = new Float32Array(3 * F).map((_, i) => (Math.floor(i / F) === i % F ? 1 : 0));
      tensors['cls.bias'].data = new Float32Array(3);
    }
    tf.dispose(Object.values(P));
    const id = `r-${variant}`;
    writeSafetensors(join(ws.checkpoints, `${id}.safetensors`), tensors);
    writeFileSync(join(ws.checkpoints, `${id}.json`), JSON.stringify({ vocab: WORDS, classes: classIds.map((id, i) => ({ id, name: `${COLOURS[i]} bird` })), maxLen: 8 }));
    createRun(db, { id, collectionId: col, variant, encoder: ENCODER, backend: 'cpu', config: { split: 'default' }, datasetVersion: 'fixture', status: 'done' });
    updateRun(db, id, { checkpoint: `${id}.safetensors`, epochs: epochs(variant) });
    runs[variant] = id;
  }
  db.close();

  const correct = images.filter((im) => im.trueClass === im.featureClass);
  return {
    home,
    images,
    runs,
    expected: {
      top1: correct.length / images.length,
      // The classifier CAM peaks at the hot cell of the image's features in every image.
      pointing: images.filter((im) => im.partHit).length / images.length,
      perClass: [0, 1, 2].map((c) => images.filter((im) => im.trueClass === c && im.featureClass === c).length / 4),
    },
  };
}
