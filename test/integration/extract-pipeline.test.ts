/**
 * Extraction decodes the next chunk of photos while the encoder runs on the current one: every
 * photo's cached map must still be exactly the encoder's map of that photo in its batch (bit for
 * bit, so no photo is paired with another's map), progress comes once per chunk, a bad file is
 * skipped and listed, and a cancel keeps every finished chunk.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import { loadLocalEncoder } from '../../src-main/ml/encoders/load.ts';
import { decodeRgb } from '../../src-main/ml/encoders/preprocess.ts';
import { decodeHalf, encodeHalf, FeatureCache } from '../../src-main/ml/feature-cache.ts';
import { embedImages } from '../../src-main/jobs/encode-batch.ts';
import { imagesToExtract, runExtract } from '../../src-main/jobs/extract.ts';
import { SHARED_ENCODER } from '../helpers/shared.ts';

beforeAll(async () => {
  await initBackend();
});

/** n noise photos (each different) in one collection; file `bad` holds text instead of an image. */
async function noiseWorkspace(n: number, bad: number) {
  const home = mkdtempSync(join(tmpdir(), 'plumage-pipe-'));
  const root = join(home, 'photos');
  mkdirSync(root);
  const db = openDb(workspace(home).dbPath);
  const col = db.prepare(`INSERT INTO collections (name, root, kind) VALUES ('t', ?, 'folder')`).run(root).lastInsertRowid;
  for (let i = 0; i < n; i++) {
    const file = join(root, `p${i}.png`);
    const px = Buffer.from(Array.from({ length: 40 * 32 * 3 }, (_, k) => (k * (7 + i) * 7919) % 251));
    if (i === bad) writeFileSync(file, `not a photo ${i}`);
    else await sharp(px, { raw: { width: 40, height: 32, channels: 3 } }).png().toFile(file);
    const bytes = readFileSync(file);
    db.prepare(
      `INSERT INTO images (collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height) VALUES (?, ?, ?, ?, ?, 0, 40, 32)`,
    ).run(col, `p${i}.png`, `p${i}.png`, createHash('sha256').update(bytes).digest('hex'), bytes.length);
  }
  db.close();
  return home;
}

describe('pipelined extraction', () => {
  it('caches each photo the map of its own batch, bit for bit, and lists the bad file', async () => {
    const home = await noiseWorkspace(8, 4);
    const ticks: number[] = [];
    const r = await runExtract({ home, encoderPath: SHARED_ENCODER, batchSize: 3, onProgress: (d) => ticks.push(d) });
    expect(ticks).toEqual([0, 3, 6, 8]);
    expect(r.extracted).toBe(7);
    expect(r.errors.map((e) => e.path.split('/').pop())).toEqual(['p4.png']);
    // the same batches run directly, one after another: p0-p2, p3+p5 (p4 is bad), p6-p7
    const rows = imagesToExtract(home);
    const enc = await loadLocalEncoder(SHARED_ENCODER);
    const cache = new FeatureCache(workspace(home).features, enc.id);
    const per = enc.shape[0] * enc.shape[1] * enc.shape[2];
    for (const batch of [[0, 1, 2], [3, 5], [6, 7]]) {
      const a = embedImages(enc, await Promise.all(batch.map((i) => decodeRgb(rows[i].path, enc.inputSize))));
      const want = (await a.data()) as Float32Array;
      a.dispose();
      batch.forEach((i, j) => {
        const got = cache.get(rows[i].hash).data;
        expect(got).toEqual(decodeHalf(encodeHalf(want.subarray(j * per, (j + 1) * per))));
      });
    }
    // photos differ, so equal maps above cannot come from a mix-up
    expect(cache.get(rows[0].hash).data).not.toEqual(cache.get(rows[1].hash).data);
    enc.dispose();
  });

  it('keeps every finished chunk when cancelled between chunks', async () => {
    const home = await noiseWorkspace(7, -1);
    const ac = new AbortController();
    const r = await runExtract({
      home,
      encoderPath: SHARED_ENCODER,
      batchSize: 2,
      signal: ac.signal,
      onProgress: (d) => d >= 4 && ac.abort(),
    });
    expect(r.cancelled).toBe(true);
    expect(r.extracted).toBe(4);
    const again = await runExtract({ home, encoderPath: SHARED_ENCODER });
    expect(again.cached).toBe(4);
    expect(again.extracted).toBe(3);
  });
});
