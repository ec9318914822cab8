/**
 * predictCollection on the hand-built report fixture (known features and classifier weights):
 * predicted classes, confidences and the review-queue orders that read them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPrediction, nextDisputed } from '../../src-main/data/predictions.ts';
import { getImageDetail, queryImages } from '../../src-main/data/queries.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import {
  captionWords,
  imageCams,
  imageWordCam,
  normaliseMap,
  predictCollection,
  SCORE_BATCH,
  releaseCamModel,
} from '../../src-main/jobs/predict.ts';
import { buildFixture, type Fixture } from './report-fixture.ts';

let dir: string;
let fx: Fixture;
let db: Db;

beforeAll(async () => {
  process.env.PLUMAGE_BACKEND ||= 'cpu';
  dir = mkdtempSync(join(tmpdir(), 'plumage-predict-'));
  fx = buildFixture(join(dir, 'home'));
  db = openDb(workspace(fx.home).dbPath);
});
afterAll(() => {
  releaseCamModel();
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('predictCollection', () => {
  it('scores every image with the run: class, confidence, top-5, caption, likelihood, disagreement', async () => {
    const seen: number[] = [];
    const r = await predictCollection(fx.home, fx.runs.cam, {
      batchSize: 5,
      onProgress: (d) => seen.push(d),
    });
    expect(r).toMatchObject({ run: fx.runs.cam, images: 12, skipped: 0 });
    expect(seen.at(-1)).toBe(12);
    const classIds = (db.prepare('SELECT id FROM classes ORDER BY id').all() as { id: number }[]).map(
      (c) => c.id,
    );
    // v_c = (8·1 + 5)/9 for the image's feature class, 0 elsewhere; medi is the identity, cls picks channel c.
    const vc = 13 / 9;
    const pTop = Math.exp(vc) / (Math.exp(vc) + 2);
    for (const im of fx.images) {
      const p = getPrediction(db, im.id)!;
      expect(p.runId).toBe(fx.runs.cam);
      expect(p.classId).toBe(classIds[im.featureClass]);
      expect(p.confidence).toBeCloseTo(pTop, 5);
      expect(p.top5).toHaveLength(3);
      expect(p.top5[0]).toEqual({ classId: classIds[im.featureClass], p: p.confidence });
      expect(p.top5.reduce((a, t) => a + t.p, 0)).toBeCloseTo(1, 5);
      expect(typeof p.caption).toBe('string');
      expect(p.likelihood!).toBeLessThan(0);
      expect(p.disagreement!).toBeGreaterThanOrEqual(0);
      expect(p.disagreement!).toBeLessThanOrEqual(1 + 1e-6);
    }
  });

  it('the rows do not depend on the batch size (the beam search decodes a batch together)', async () => {
    const scored = async (batchSize?: number) => {
      await predictCollection(fx.home, fx.runs.cam, batchSize ? { batchSize } : {});
      return fx.images.map((im) => getPrediction(db, im.id, fx.runs.cam)!);
    };
    const small = await scored(5);
    expect(SCORE_BATCH).toBeGreaterThan(fx.images.length); // the default: every photo in one batch
    const whole = await scored();
    whole.forEach((w, i) => {
      expect(w.caption).toBe(small[i].caption);
      expect(w.classId).toBe(small[i].classId);
      expect(w.confidence!).toBeCloseTo(small[i].confidence!, 5);
      expect(w.likelihood!).toBeCloseTo(small[i].likelihood!, 4);
      expect(w.disagreement!).toBeCloseTo(small[i].disagreement!, 4);
    });
  });

  it('cnn runs have no caption and no disagreement; lrcn no class', async () => {
    await predictCollection(fx.home, fx.runs.cnn);
    await predictCollection(fx.home, fx.runs.lrcn);
    const cnn = getPrediction(db, fx.images[0].id, fx.runs.cnn)!;
    expect(cnn.caption).toBeNull();
    expect(cnn.disagreement).toBeNull();
    expect(cnn.classId).not.toBeNull();
    const lrcn = getPrediction(db, fx.images[0].id, fx.runs.lrcn)!;
    expect(lrcn.classId).toBeNull();
    expect(lrcn.top5).toEqual([]);
    expect(lrcn.likelihood!).toBeLessThan(0);
  });

  it('gallery sorts, disagreement, suggestions and next-disputed come from the latest done run with predictions', async () => {
    // Make the cam run the newest so it is "the current run" whatever the fixture's timestamps.
    db.prepare("UPDATE runs SET created_at = '2999-01-01T00:00:00.000Z' WHERE id = ?").run(fx.runs.cam);
    const rows = db
      .prepare('SELECT image_id, disagreement, confidence, likelihood FROM predictions WHERE run_id = ?')
      .all(fx.runs.cam) as {
      image_id: number;
      disagreement: number;
      confidence: number;
      likelihood: number;
    }[];
    const byDis = [...rows].sort((a, b) => b.disagreement - a.disagreement || a.image_id - b.image_id);
    const page = queryImages(db, { sort: 'disagreement', limit: 12 });
    expect(page.items.map((i) => i.disagreement)).toEqual(byDis.map((r) => r.disagreement));
    const lik = queryImages(db, { sort: 'likelihood', limit: 12 }).items.map((i) => i.id);
    const likVals = lik.map((id) => rows.find((r) => r.image_id === id)!.likelihood);
    expect(likVals).toEqual([...likVals].sort((a, b) => a - b));
    // paging keeps the order
    const p2 = queryImages(db, { sort: 'disagreement', limit: 5, offset: 5 });
    expect(p2.items.map((i) => i.id)).toEqual(page.items.slice(5, 10).map((i) => i.id));
    // next most disputed walks the same order
    const walk: number[] = [];
    let id = nextDisputed(db);
    while (id !== null) {
      walk.push(id);
      id = nextDisputed(db, { afterId: id });
    }
    expect(walk).toEqual(byDis.map((r) => r.image_id));
    const d = getImageDetail(db, fx.images[0].id)!;
    expect(d.suggestions).toHaveLength(3);
    expect(d.suggestions[0].p).toBeGreaterThan(d.suggestions[1].p);
    expect(d.suggestions[0].className).toMatch(/bird$/);
    expect(d.disagreement).toBe(rows.find((r) => r.image_id === fx.images[0].id)!.disagreement);
  });
});

describe('CAMs of one image', () => {
  it('classifier CAM peaks at the hot cell; maps in [0,1]; disagreement map is |cls − cap|', async () => {
    const ws = workspace(fx.home);
    for (const im of fx.images.slice(0, 4)) {
      const c = await imageCams(db, ws, fx.runs.cam, im.id);
      expect([c.H, c.W]).toEqual([3, 3]);
      expect(c.cls).toHaveLength(9);
      expect(c.cap).toHaveLength(9);
      const peak = c.cls.indexOf(Math.max(...c.cls));
      expect(peak).toBe(im.hot[0] * 3 + im.hot[1]);
      expect(Math.max(...c.cls)).toBe(1);
      for (const x of [...c.cls, ...c.cap]) expect(x >= 0 && x <= 1).toBe(true);
      c.disagreement.forEach((x, i) => expect(x).toBeCloseTo(Math.abs(c.cls[i] - c.cap[i]), 6));
      expect(c.caption).toBe(c.words.join(' '));
      expect(c.predClass).toMatch(/bird$/);
      // The stored disagreement is 1 − cos of the same two (unnormalised) maps: scale-free, so equal.
      const dot = c.cls.reduce((a, x, i) => a + x * c.cap[i], 0);
      const n = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
      const cos = dot / (n(c.cls) * n(c.cap) || 1);
      const stored = getPrediction(db, im.id, fx.runs.cam)!.disagreement!;
      if (n(c.cap) > 0) expect(1 - cos).toBeCloseTo(stored, 4);
    }
  });

  it('per-word CAMs: one map per word, refused past the caption', async () => {
    const ws = workspace(fx.home);
    const c = await imageCams(db, ws, fx.runs.cam, fx.images[0].id);
    expect(c.words.length).toBeGreaterThan(0);
    const w = await imageWordCam(db, ws, fx.runs.cam, fx.images[0].id, 0);
    expect(w.word).toBe(c.words[0]);
    expect(w.cam).toHaveLength(9);
    for (const x of w.cam) expect(x >= 0 && x <= 1).toBe(true);
    await expect(imageWordCam(db, ws, fx.runs.cam, fx.images[0].id, c.words.length)).rejects.toThrow(
      /outside/,
    );
    await expect(imageWordCam(db, ws, fx.runs.cnn, fx.images[0].id, 0)).rejects.toThrow(/no captioner/);
  });

  it('helpers', () => {
    expect(normaliseMap([0, 2, 4])).toEqual([0, 0.5, 1]);
    expect(normaliseMap([0, 0])).toEqual([0, 0]);
    expect(captionWords([1, 4, 5, 2, 0], ['<pad>', '<bos>', '<eos>', '<unk>', 'a', 'bird'])).toEqual([
      'a',
      'bird',
    ]);
  });
});
