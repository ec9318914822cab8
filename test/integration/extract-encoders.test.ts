/**
 * Encoders and the feature cache: a local HTTP server stands in for Google's storage and serves
 * ../shared/encoders/mobilenet_v2_035_tm; download → cache → checksum (good and tampered) → load;
 * the nested Teachable Machine form yields [7, 7, 1280]; extract is resumable and skips bad images.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { initBackend } from '../../src-main/ml/backend.ts';
import {
  downloadEncoder,
  isCached,
  loadLocalEncoder,
  resolveEncoder,
} from '../../src-main/ml/encoders/load.ts';
import { encoderEntry, encoderWarnings, FALLBACK_ID } from '../../src-main/ml/encoders/registry.ts';
import { decodeHalf, encodeHalf, FeatureCache } from '../../src-main/ml/feature-cache.ts';
import { runExtract } from '../../src-main/jobs/extract.ts';
import { SHARED_DIR } from '../helpers/shared.ts';

const shared = SHARED_DIR;
const TM = join(shared, 'encoders', 'mobilenet_v2_035_tm');
const REMOTE = '/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top';

let server: Server;
let mirror = '';
let tamper = false;
let hits = 0;

beforeAll(async () => {
  await initBackend();
  server = createServer((req, res) => {
    hits++;
    const url = req.url ?? '';
    if (!url.startsWith(REMOTE + '/')) {
      res.writeHead(404).end();
      return;
    }
    const file = join(TM, url.slice(REMOTE.length + 1));
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    let body = readFileSync(file);
    if (tamper && file.endsWith('weights.bin')) {
      body = Buffer.from(body);
      body[1000] ^= 0xff; // inside Conv1/kernel: a base weight
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  mirror = `http://127.0.0.1:${addr.port}`;
});

afterAll(() => server?.close());

describe('float16 codec', () => {
  it('round-trips within half precision and keeps specials', () => {
    const x = new Float32Array([0, 1, -2.5, 65504, 1e-5, 3.14159, -0.0001, 70000, 6e-8]);
    const y = decodeHalf(encodeHalf(x));
    expect(y[0]).toBe(0);
    expect(y[1]).toBe(1);
    expect(y[2]).toBe(-2.5);
    expect(y[3]).toBe(65504);
    expect(Math.abs(y[4] - 1e-5)).toBeLessThanOrEqual(2 ** -25); // subnormal: half a step of 2^-24
    expect(Math.abs(y[5] - 3.14159)).toBeLessThan(2e-3);
    expect(y[7]).toBe(Infinity);
    expect(y[8]).toBe(2 ** -24);
    // Ties round to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
    const t = decodeHalf(encodeHalf(new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11])));
    expect(t[0]).toBe(1);
    expect(t[1]).toBe(1 + 2 ** -9);
  });
});

describe('encoder download, cache and checksum', () => {
  it('rejects a tampered download and caches nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plumage-enc-'));
    tamper = true;
    await expect(downloadEncoder(dir, encoderEntry('mobilenet_v2_035')!, { mirror })).rejects.toThrow(
      /checksum mismatch/,
    );
    tamper = false;
    expect(isCached(dir, 'mobilenet_v2_035')).toBe(false);
  });

  it('downloads once with progress, verifies the pin, then loads from the cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plumage-enc-'));
    const progress: number[] = [];
    process.env.PLUMAGE_ENCODER_MIRROR = mirror;
    try {
      const enc = await resolveEncoder(dir, {
        encoder: 'mobilenet_v2_035',
        onProgress: (d) => progress.push(d),
      });
      expect(enc.origin).toBe('download');
      expect(enc.shape).toEqual([7, 7, 1280]);
      enc.dispose();
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[progress.length - 1]).toBeGreaterThan(2_000_000);
      expect(isCached(dir, 'mobilenet_v2_035')).toBe(true);
      const before = hits;
      const again = await resolveEncoder(dir, { encoder: 'mobilenet_v2_035' });
      expect(again.origin).toBe('cache');
      expect(hits).toBe(before); // no network on the second use
      const a = tf.tidy(() => again.embed(tf.zeros([1, 224, 224, 3])));
      expect(a.shape).toEqual([1, 7, 7, 1280]);
      a.dispose();
      again.dispose();
      // Damage the cached weights: the next load refuses them.
      const w = join(dir, 'mobilenet_v2_035', 'weights.bin');
      const bytes = readFileSync(w);
      bytes[5000] ^= 0x01;
      writeFileSync(w, bytes);
      await expect(
        resolveEncoder(dir, { encoder: 'mobilenet_v2_035', allowDownload: false }),
      ).rejects.toThrow(/damaged/);
    } finally {
      delete process.env.PLUMAGE_ENCODER_MIRROR;
    }
  });

  it('loads the nested Teachable Machine export as the registry base with a [7,7,1280] map', async () => {
    const enc = await loadLocalEncoder(TM);
    expect(enc.id).toBe('mobilenet_v2_035');
    expect(enc.shape).toEqual([7, 7, 1280]);
    expect(enc.preprocess).toBe('minus1to1');
    enc.dispose();
  });
});

describe('offline fallback', () => {
  it('uses the bundled nsfwjs MobileNetV2 with a warning when nothing is cached or downloadable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plumage-enc-'));
    const warnings: string[] = [];
    process.env.PLUMAGE_ENCODER_MIRROR = 'http://127.0.0.1:9'; // nothing listens: downloads fail
    try {
      const enc = await resolveEncoder(dir, { onWarning: (w) => warnings.push(w) });
      expect(enc.id).toBe(FALLBACK_ID);
      expect(enc.origin).toBe('bundled');
      expect(enc.shape).toEqual([7, 7, 1792]);
      expect(warnings.join(' ')).toMatch(/accuracy will be lower/);
      const a = tf.tidy(() => enc.embed(tf.zeros([1, 224, 224, 3])));
      expect(a.shape).toEqual([1, 7, 7, 1792]);
      a.dispose();
      enc.dispose();
    } finally {
      delete process.env.PLUMAGE_ENCODER_MIRROR;
    }
  });

  it('keeps the app warning up while the fallback is what the workspace uses', () => {
    const enc = mkdtempSync(join(tmpdir(), 'plumage-enc-'));
    const feat = mkdtempSync(join(tmpdir(), 'plumage-feat-'));
    expect(encoderWarnings(enc, feat, null)).toEqual([]);
    expect(encoderWarnings(enc, feat, FALLBACK_ID)).toHaveLength(1);
    mkdirSync(join(feat, FALLBACK_ID));
    expect(encoderWarnings(enc, feat, 'mobilenet_v2_035')).toHaveLength(1);
    mkdirSync(join(enc, 'mobilenet_v2_035'));
    writeFileSync(join(enc, 'mobilenet_v2_035', 'plumage-encoder.json'), '{}');
    expect(encoderWarnings(enc, feat, 'mobilenet_v2_035')).toEqual([]);
  });
});

/** A tiny collection written straight into the store (independent of the importers). */
async function tinyWorkspace(n: number) {
  const home = mkdtempSync(join(tmpdir(), 'plumage-x-'));
  const root = join(home, 'photos');
  mkdirSync(root);
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  const col = db
    .prepare(`INSERT INTO collections (name, root, kind) VALUES ('t', ?, 'folder')`)
    .run(root).lastInsertRowid;
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = join(root, `p${i}.png`);
    await sharp({
      create: {
        width: 64 + i * 8,
        height: 48,
        channels: 3,
        background: { r: 30 * i, g: 100, b: 200 - 20 * i },
      },
    })
      .png()
      .toFile(f);
    const bytes = readFileSync(f);
    db.prepare(
      `INSERT INTO images (collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height) VALUES (?, ?, ?, ?, ?, 0, 64, 48)`,
    ).run(col, `p${i}.png`, `p${i}.png`, createHash('sha256').update(bytes).digest('hex'), bytes.length);
    files.push(f);
  }
  db.close();
  return { home, files, ws };
}

describe('plumage extract (job)', () => {
  it('extracts float16 maps, resumes by skipping cached ones and reports bad images', async () => {
    const { home, files, ws } = await tinyWorkspace(4);
    writeFileSync(files[3], Buffer.from('not an image at all'));
    const ticks: number[] = [];
    const r1 = await runExtract({ home, encoderPath: TM, batchSize: 2, onProgress: (d) => ticks.push(d) });
    expect(r1.encoder).toBe('mobilenet_v2_035');
    expect(r1.extracted).toBe(3);
    expect(r1.errors).toHaveLength(1);
    expect(r1.errors[0].path).toBe(files[3]);
    expect(ticks[ticks.length - 1]).toBe(4);
    const cache = new FeatureCache(ws.features, 'mobilenet_v2_035');
    const hash = createHash('sha256').update(readFileSync(files[0])).digest('hex');
    const { data, shape } = cache.get(hash);
    expect(shape).toEqual([7, 7, 1280]);
    expect(Math.max(...data)).toBeGreaterThan(0); // relu6 map, not all zeros
    // Same features as running the encoder directly (float16 precision).
    const enc = await loadLocalEncoder(TM);
    const { decodeRgb, toInputBatch } = await import('../../src-main/ml/encoders/preprocess.ts');
    const x = toInputBatch([await decodeRgb(files[0], 224)], 224, 'minus1to1');
    const a = (await enc.embed(x).data()) as Float32Array;
    let maxErr = 0;
    for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i] - data[i]));
    expect(maxErr).toBeLessThan(6 * 2 ** -10); // relu6 range: half precision step ≤ 2^-8
    enc.dispose();
    const batch = cache.getBatch([hash, hash]);
    expect(batch.shape).toEqual([2, 7, 7, 1280]);
    const r2 = await runExtract({ home, encoderPath: TM });
    expect(r2.extracted).toBe(0);
    expect(r2.cached).toBe(3);
    expect(r2.errors).toHaveLength(1);
  });
});

describe('plumage extract --tiles', () => {
  it('stores 2×2 tiles of a 448-px photo as one 14×14 map under the tiled id', async () => {
    const { home, files, ws } = await tinyWorkspace(2);
    // a photo whose four quarters differ, so a tile in the wrong place shows
    const noise = Buffer.from(Array.from({ length: 96 * 80 * 3 }, (_, i) => (i * 7919) % 251));
    writeFileSync(files[0], await sharp(noise, { raw: { width: 96, height: 80, channels: 3 } }).png().toBuffer());
    const { imagesToExtract, rememberedEncoderPath } = await import('../../src-main/jobs/extract.ts');
    const hash = imagesToExtract(home).find((row) => row.path === files[0])!.hash;
    const r = await runExtract({ home, encoderPath: TM, tiles: 2 });
    expect(r.encoder).toBe('mobilenet_v2_035+tiles2');
    expect(r.shape).toEqual([14, 14, 1280]);
    expect(r.extracted).toBe(2);
    // its own cache, and the folder remembered under the tiled id (captioning reloads it from there)
    expect(new FeatureCache(ws.features, 'mobilenet_v2_035').has(hash)).toBe(false);
    expect(rememberedEncoderPath(home, 'mobilenet_v2_035+tiles2')).toBe(TM);
    const { data, shape } = new FeatureCache(ws.features, 'mobilenet_v2_035+tiles2').get(hash);
    expect(shape).toEqual([14, 14, 1280]);
    // the bottom-right quarter of the map is the encoder's map of the bottom-right 224-px tile
    const enc = await loadLocalEncoder(TM);
    const { decodeRgb, toInputBatch } = await import('../../src-main/ml/encoders/preprocess.ts');
    const big = toInputBatch([await decodeRgb(files[0], 448)], 448, 'minus1to1');
    const tile = tf.slice(big, [0, 224, 224, 0], [1, 224, 224, 3]);
    const a = (await enc.embed(tile as tf.Tensor4D).data()) as Float32Array;
    let maxErr = 0;
    for (let y = 0; y < 7; y++)
      for (let x = 0; x < 7; x++)
        for (let k = 0; k < 1280; k++) {
          const got = data[((7 + y) * 14 + 7 + x) * 1280 + k];
          maxErr = Math.max(maxErr, Math.abs(a[(y * 7 + x) * 1280 + k] - got));
        }
    expect(maxErr).toBeLessThan(6 * 2 ** -10);
    // and not the top-left tile's map
    const topLeft = (await enc.embed(tf.slice(big, [0, 0, 0, 0], [1, 224, 224, 3]) as tf.Tensor4D).data()) as Float32Array;
    expect(Math.max(...topLeft.map((v, i) => Math.abs(v - a[i])))).toBeGreaterThan(0.1);
    enc.dispose();
    tf.dispose([big, tile]);
  });
});
