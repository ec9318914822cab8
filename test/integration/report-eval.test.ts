/**
 * `plumage eval` on a workspace whose answers are known (see report-fixture.ts): the real CLI,
 * stored metrics, and the caption metrics re-scored independently from the listed captions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateWith, pointingHit } from '../../src-main/jobs/evaluate.ts';
import { loadRunModel } from '../../src-main/jobs/run-artifact.ts';
import { getRun } from '../../src-main/data/runs.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import { scoreCaptions } from '../../src-main/ml/metrics/index.ts';
import { buildFixture, type Fixture } from './report-fixture.ts';

const repo = process.cwd();
let fx: Fixture;
beforeAll(() => {
  fx = buildFixture(mkdtempSync(join(tmpdir(), 'plumage-eval-')));
});

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(repo, 'bin/plumage.js'), ...args], { encoding: 'utf8', env: { ...process.env, PLUMAGE_BACKEND: process.env.PLUMAGE_BACKEND || 'cpu' } });

describe('plumage eval', () => {
  it('prints contract fields (docs/design.md: Metrics) with the known classification and pointing results, and stores them', () => {
    const r = cli('eval', '--run', fx.runs.cam, '--home', fx.home, '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    for (const k of ['top1', 'top5', 'bleu1', 'bleu2', 'bleu3', 'bleu4', 'meteor', 'rougeL', 'cider', 'cam_agreement', 'pointing'])
      expect(typeof out[k], k).toBe('number');
    expect(out.top1).toBeCloseTo(fx.expected.top1, 10);
    expect(out.top5).toBe(1); // 3 classes
    expect(out.pointing).toBeCloseTo(fx.expected.pointing, 10);
    expect(out.per_class.map((c: { top1: number }) => c.top1)).toEqual(fx.expected.perClass);
    expect(out.confusion.matrix[0][1]).toBe(1);
    expect(out.confusion.matrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(fx.images.length);
    expect(out.cam_agreement).toBeGreaterThanOrEqual(-1);
    expect(out.cam_agreement).toBeLessThanOrEqual(1);
    const db = openDb(workspace(fx.home).dbPath);
    const stored = getRun(db, fx.runs.cam)!.metrics!;
    db.close();
    expect(stored.top1).toBe(out.top1);
    expect(stored.cider).toBe(out.cider);
  });

  it('caption metrics equal an independent scoring of the captions it generated', async () => {
    await initBackend();
    const ws = workspace(fx.home);
    const db = openDb(ws.dbPath);
    const run = getRun(db, fx.runs.lrcn)!;
    const res = evaluateWith(db, ws, run, loadRunModel(ws, run), { worst: 1000 });
    db.close();
    expect(res.top1).toBeNull();
    expect(res.pointing).toBeNull();
    expect(res.worst.length).toBe(fx.images.length);
    const refs = Object.fromEntries(res.worst.map((w) => [w.image_id, w.references]));
    const cands = Object.fromEntries(res.worst.map((w) => [w.image_id, w.candidate]));
    const s = scoreCaptions(refs, cands);
    expect(res.bleu4).toBeCloseTo(s.bleu4, 12);
    expect(res.cider).toBeCloseTo(s.cider, 12);
    expect(res.meteor).toBeCloseTo(s.meteor, 12);
    expect(res.worst[0].cider).toBeLessThanOrEqual(res.worst[res.worst.length - 1].cider);
  });

  it('counts the test photos whose species heat map is all zero', async () => {
    await initBackend();
    const ws = workspace(fx.home);
    const db = openDb(ws.dbPath);
    const run = getRun(db, fx.runs.cnn)!;
    const model = loadRunModel(ws, run);
    // logit_c = v_c: the predicted class's own channel is ≥ 1 everywhere, so no map is empty
    expect(evaluateWith(db, ws, run, model).empty_cls_cam).toBe(0);
    // logit_c = −v_c: the guess is a class whose channel is 0, its Grad-CAM relu(−A_c) is all zero
    const weight = model.P['cls.weight'];
    model.P['cls.weight'] = tf.neg(weight);
    weight.dispose();
    expect(evaluateWith(db, ws, run, model).empty_cls_cam).toBe(1);
    const lrcn = getRun(db, fx.runs.lrcn)!;
    expect(evaluateWith(db, ws, lrcn, loadRunModel(ws, lrcn)).empty_cls_cam).toBeNull();
    db.close();
  });

  it('paper protocol: classification on paper/test, captions on the held-out paper-caption/caption_test classes', async () => {
    await initBackend();
    const ws = workspace(fx.home);
    const db = openDb(ws.dbPath);
    const ins = db.prepare('INSERT OR REPLACE INTO splits(scheme, image_id, part) VALUES (?, ?, ?)');
    for (const im of fx.images) {
      if (im.trueClass < 2) ins.run('paper', im.id, 'test');
      ins.run('paper-caption', im.id, im.trueClass < 2 ? 'caption_train' : 'caption_test');
    }
    const run = getRun(db, fx.runs.cam)!;
    const res = evaluateWith(db, ws, run, loadRunModel(ws, run), { scheme: 'paper', worst: 100 });
    db.close();
    expect(res.split).toEqual({ scheme: 'paper', part: 'test' });
    expect(res.caption_split).toEqual({ scheme: 'paper-caption', part: 'caption_test' });
    expect(res.n_images).toBe(8);
    expect(res.n_captioned).toBe(4);
    const heldOut = new Set(fx.images.filter((im) => im.trueClass === 2).map((im) => im.id));
    expect(res.worst.every((w) => heldOut.has(w.image_id))).toBe(true);
    const clsImages = fx.images.filter((im) => im.trueClass < 2);
    expect(res.top1).toBeCloseTo(clsImages.filter((im) => im.featureClass === im.trueClass).length / 8, 12);
    expect(res.pointing).toBeCloseTo(clsImages.filter((im) => im.partHit).length / 8, 12);
  });

  it('fails with one line for an unknown run', () => {
    const r = cli('eval', '--run', 'nope', '--home', fx.home);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^plumage: no run 'nope'$/);
  });
});

describe('pointingHit', () => {
  it('hits inside the peak cell grown by 15 px and misses outside; a zero CAM has no peak', () => {
    const cam = [0, 0, 0, 0, 1, 0, 0, 0, 0]; // peak at the centre cell of 3×3 over 90×90 px: [30,60]²
    expect(pointingHit(cam, 3, 3, 90, 90, [[45, 45]])).toEqual({ hit: true, peak: [45, 45] });
    expect(pointingHit(cam, 3, 3, 90, 90, [[16, 74]]).hit).toBe(true);
    expect(pointingHit(cam, 3, 3, 90, 90, [[14, 45]]).hit).toBe(false);
    expect(pointingHit([0, 0, 0, 0], 2, 2, 90, 90, [[45, 45]])).toEqual({ hit: false, peak: null });
  });
});
