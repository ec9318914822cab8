/**
 * Feature extraction job: every image of the workspace (or one collection) through the frozen
 * encoder once, into the float16 feature cache. Resumable by construction: images whose
 * (content hash, encoder) entry exists are skipped. Undecodable images are reported and skipped.
 */
import { join } from 'node:path';
import { openDb } from '../data/store.ts';
import { workspace } from '../data/workspace.ts';
import { initBackend } from '../ml/backend.ts';
import { resolveEncoder, type DownloadProgress, type LoadedEncoder } from '../ml/encoders/load.ts';
import { decodedIndices, embedImages, forEachDecodedChunk } from './encode-batch.ts';
import { FeatureCache, mirroredKey } from '../ml/feature-cache.ts';
import { mirrorRgb } from '../ml/encoders/preprocess.ts';

export interface ExtractOptions {
  home: string;
  encoder?: string;
  encoderPath?: string;
  featureNode?: string;
  /** n×n tiles of an n× larger photo through the encoder (ml/encoders/tiles.ts); default 1. */
  tiles?: number;
  collectionId?: number;
  /** Photos per encoder batch (default: defaultBatch of the encoder's input size). */
  batchSize?: number;
  /**
   * Extract the maps of the images' mirror images instead (stored under mirroredKey), only for
   * these content hashes (training with mirrored photos needs them for its training images).
   */
  mirrored?: ReadonlySet<string>;
  /** An encoder already loaded by the caller (demo, tests): skips resolution. */
  loaded?: LoadedEncoder;
  onProgress?: (done: number, total: number, note?: string) => void;
  onDownload?: DownloadProgress;
  onWarning?: (w: string) => void;
  signal?: AbortSignal;
}

export interface ExtractResult {
  encoder: string;
  encoder_title: string;
  encoder_origin: string;
  shape: [number, number, number];
  backend: string;
  images: number;
  extracted: number;
  cached: number;
  errors: { path: string; reason: string }[];
  seconds: number;
  images_per_s: number;
  cancelled: boolean;
  warnings: string[];
}

interface Row {
  id: number;
  hash: string;
  path: string;
}

/** Images to extract: unique content hashes with one readable path each. */
export function imagesToExtract(home: string, collectionId?: number): Row[] {
  const db = openDb(workspace(home).dbPath);
  try {
    const rows = db
      .prepare(
        `SELECT i.id, i.content_hash AS hash, c.root AS root, i.rel_path AS rel
           FROM images i JOIN collections c ON c.id = i.collection_id
          WHERE (? IS NULL OR i.collection_id = ?)
          ORDER BY i.id`,
      )
      .all(collectionId ?? null, collectionId ?? null) as {
      id: number;
      hash: string;
      root: string;
      rel: string;
    }[];
    const seen = new Set<string>();
    const out: Row[] = [];
    for (const r of rows) {
      if (seen.has(r.hash)) continue;
      seen.add(r.hash);
      out.push({ id: r.id, hash: r.hash, path: join(r.root, ...r.rel.split('/')) });
    }
    return out;
  } finally {
    db.close();
  }
}

const localKey = (id: string) => `encoder_path:${id}`;

/** Remembers where a local encoder came from, so captioning a folder later can load it again. */
export function rememberLocalEncoder(home: string, id: string, path: string): void {
  const db = openDb(workspace(home).dbPath);
  try {
    db.prepare(`INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)`).run(
      localKey(id),
      JSON.stringify(path),
    );
  } finally {
    db.close();
  }
}

export function rememberedEncoderPath(home: string, id: string): string | null {
  const db = openDb(workspace(home).dbPath);
  try {
    const r = db.prepare(`SELECT value FROM settings WHERE key = ?`).get(localKey(id)) as
      { value: string } | undefined;
    return r ? (JSON.parse(r.value) as string) : null;
  } finally {
    db.close();
  }
}

export async function runExtract(opts: ExtractOptions): Promise<ExtractResult> {
  const ws = workspace(opts.home);
  const backend = await initBackend();
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    opts.onWarning?.(w);
  };
  const enc =
    opts.loaded ??
    (await resolveEncoder(ws.encoders, {
      encoder: opts.encoder,
      encoderPath: opts.encoderPath,
      featureNode: opts.featureNode,
      tiles: opts.tiles,
      onProgress: opts.onDownload,
      onWarning: warn,
    }));
  if (opts.loaded) for (const w of enc.warnings) warn(w);
  if (enc.origin === 'local' && enc.path) rememberLocalEncoder(opts.home, enc.id, enc.path);
  const cache = new FeatureCache(ws.features, enc.id);
  const mirrored = opts.mirrored;
  const key = mirrored ? mirroredKey : (hash: string) => hash;
  const all = imagesToExtract(opts.home, opts.collectionId).filter((r) => !mirrored || mirrored.has(r.hash));
  const todo = all.filter((r) => !cache.has(key(r.hash)));
  const cached = all.length - todo.length;
  const errors: ExtractResult['errors'] = [];
  const t0 = Date.now();
  let extracted = 0;
  const { cancelled } = await forEachDecodedChunk(todo, (r) => r.path, enc.inputSize, opts, async (chunk, decoded) => {
    decoded.forEach((d, j) => {
      if (typeof d === 'string') errors.push({ path: chunk[j].path, reason: d });
    });
    const okIdx = decodedIndices(decoded);
    const ok = okIdx.map((j) => chunk[j]);
    if (ok.length) {
      const pixels = okIdx.map((j) => decoded[j] as Uint8Array);
      const a = embedImages(enc, mirrored ? pixels.map((px) => mirrorRgb(px, enc.inputSize)) : pixels);
      const data = (await a.data()) as Float32Array;
      a.dispose();
      const per = enc.shape[0] * enc.shape[1] * enc.shape[2];
      ok.forEach((r, j) => cache.put(key(r.hash), data.subarray(j * per, (j + 1) * per), enc.shape));
      extracted += ok.length;
    }
  });
  const seconds = (Date.now() - t0) / 1000;
  if (!opts.loaded) enc.dispose();
  return {
    encoder: enc.id,
    encoder_title: enc.title,
    encoder_origin: enc.origin,
    shape: enc.shape,
    backend: backend.name,
    images: all.length,
    extracted,
    cached,
    errors,
    seconds,
    images_per_s: seconds > 0 ? extracted / seconds : 0,
    cancelled,
    warnings,
  };
}
