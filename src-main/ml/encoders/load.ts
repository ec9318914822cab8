/**
 * Loading frozen encoders: a TF.js layers or graph model from a folder (a bare Keras base or a
 * Teachable Machine export that nests the base as its first layer), a one-time download into the
 * workspace cache with a pinned fingerprint, or the nsfwjs package's bundled MobileNetV2 as the
 * offline fallback (the network itself is built in feature-net.ts). Every path ends in a
 * LoadedEncoder that maps an input batch to A [B,H,W,K].
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_PREFERENCE,
  FALLBACK_ID,
  REGISTRY,
  encoderEntry,
  type EncoderEntry,
  type Preprocess,
} from './registry.ts';
import { buildFeatureNet, concat, isGraph, readModelFolder, type Artifacts, type FeatureNet } from './feature-net.ts';
import { conflict, invalidRequest, ioError, notFound, unavailable } from '../../util/errors.ts';
import { splitTiledId, tileEncoder } from './tiles.ts';

export interface LoadedEncoder {
  /** Feature-cache key: a registry id, or `local-<fingerprint>` for an unknown local model. */
  id: string;
  title: string;
  inputSize: number;
  preprocess: Preprocess;
  shape: [number, number, number];
  /** SHA-256 fingerprint of the feature sub-network's weights. */
  fingerprint: string;
  provenance: string;
  /** Where the weights came from: cache | download | local | bundled. */
  origin: 'cache' | 'download' | 'local' | 'bundled';
  /** The folder the weights were read from (null for the bundled package). */
  path: string | null;
  warnings: string[];
  /** x: [B, size, size, 3] preprocessed → A: [B, H, W, K]. The caller disposes both. */
  embed(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// Cache and download

/** Written beside a cached model: file hashes checked on every load (tampering, truncation). */
interface CacheManifest {
  id: string;
  url: string;
  files: Record<string, string>;
  fingerprint: string;
  bytes: number;
  downloadedAt: string;
}

const MANIFEST = 'plumage-encoder.json';

function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

export function cacheDir(encodersDir: string, id: string): string {
  return join(encodersDir, id);
}

export function isCached(encodersDir: string, id: string): boolean {
  return existsSync(join(cacheDir(encodersDir, id), MANIFEST));
}

/** Where an entry's files are fetched from; PLUMAGE_ENCODER_MIRROR replaces the host part (tests, mirrors). */
export function sourceUrl(entry: EncoderEntry, mirror = process.env.PLUMAGE_ENCODER_MIRROR): string {
  if (entry.source.type !== 'download') throw invalidRequest(`${entry.id} is not downloadable`);
  let url = entry.source.url;
  if (mirror) url = mirror.replace(/\/$/, '') + '/' + url.replace(/^https?:\/\/[^/]+\//, '');
  if (entry.source.tfhub && !mirror) url = url + '/model.json?tfjs-format=file';
  return url;
}

export interface DownloadProgress {
  (doneBytes: number, totalBytes: number, file: string): void;
}

/** The one-line reason for a failed first download: which encoder, from where, and the two ways out. */
export function offlineAdvice(id: string, url: string, e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const why = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
  return (
    `cannot download the encoder '${id}' from ${url.split('?')[0]} (${why}): connect to the internet once ` +
    `(it is cached in <home>/encoders), or pass --encoder-path DIR with a local TF.js copy (model.json + shards; see docs/training.md)`
  );
}

async function fetchBytes(url: string, onChunk: (n: number) => void): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw unavailable(`GET ${url}: HTTP ${res.status}`);
  const chunks: Uint8Array[] = [];
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    onChunk(value.byteLength);
  }
  return new Uint8Array(concat(chunks));
}

/**
 * Downloads an entry's model.json and shards into the cache, checks the weights fingerprint
 * against the registry pin (or records it, trust on first use, where no pin could be made
 * offline), and only then moves the files into place. A failed check leaves nothing cached.
 */
export async function downloadEncoder(
  encodersDir: string,
  entry: EncoderEntry,
  opts: { mirror?: string; onProgress?: DownloadProgress } = {},
): Promise<CacheManifest> {
  if (entry.source.type !== 'download') throw invalidRequest(`${entry.id} is not downloadable`);
  const url = sourceUrl(entry, opts.mirror ?? process.env.PLUMAGE_ENCODER_MIRROR);
  const total = entry.source.approxBytes;
  let done = 0;
  const tick = (file: string) => (n: number) => {
    done += n;
    opts.onProgress?.(done, Math.max(total, done), file);
  };
  let mjBytes: Uint8Array;
  try {
    mjBytes = await fetchBytes(url, tick('model.json'));
  } catch (e) {
    throw unavailable(offlineAdvice(entry.id, url, e), { cause: e });
  }
  const modelJson = JSON.parse(Buffer.from(mjBytes).toString('utf8')) as Artifacts['modelJson'];
  const base = url.split('?')[0].replace(/[^/]*$/, '');
  const files: Record<string, string> = { 'model.json': sha256(mjBytes) };
  const shards: Uint8Array[] = [];
  const shardFiles: [string, Uint8Array][] = [];
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) {
      const b = await fetchBytes(base + p, tick(p));
      shards.push(b);
      shardFiles.push([p, b]);
      files[p] = sha256(b);
    }
  }
  const net = await buildFeatureNet(
    { modelJson, weightData: concat(shards) },
    entry.featureNode,
    entry.inputSize,
  );
  const fingerprint = net.fingerprint;
  const shape = net.shape;
  net.dispose();
  const pin = entry.source.weightsSha256;
  if (pin && pin !== fingerprint) {
    throw conflict(
      `checksum mismatch for ${entry.id}: weights fingerprint ${fingerprint.slice(0, 16)}… != pinned ${pin.slice(0, 16)}…; nothing was cached`,
    );
  }
  if (shape.join() !== entry.shape.join()) {
    throw conflict(
      `${entry.id}: feature map ${shape.join('x')} != expected ${entry.shape.join('x')}; nothing was cached`,
    );
  }
  const dest = cacheDir(encodersDir, entry.id);
  const tmp = dest + `.part-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'model.json'), mjBytes);
  for (const [p, b] of shardFiles) {
    mkdirSync(dirname(join(tmp, p)), { recursive: true });
    writeFileSync(join(tmp, p), b);
  }
  const manifest: CacheManifest = {
    id: entry.id,
    url,
    files,
    fingerprint,
    bytes: mjBytes.byteLength + shards.reduce((s, b) => s + b.byteLength, 0),
    downloadedAt: new Date().toISOString(),
  };
  writeFileSync(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2));
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  return manifest;
}

/** Reads a cached model after checking every file against the hashes recorded at download. */
function readCached(
  encodersDir: string,
  entry: EncoderEntry,
): { artifacts: Artifacts; manifest: CacheManifest } {
  const dir = cacheDir(encodersDir, entry.id);
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as CacheManifest;
  for (const [f, h] of Object.entries(manifest.files)) {
    const p = join(dir, f);
    if (!existsSync(p) || sha256(readFileSync(p)) !== h) {
      throw ioError(
        `cached encoder ${entry.id} is damaged (${f} does not match its checksum); delete ${dir} to download it again`,
      );
    }
  }
  if (
    entry.source.type === 'download' &&
    entry.source.weightsSha256 &&
    entry.source.weightsSha256 !== manifest.fingerprint
  ) {
    throw conflict(
      `cached encoder ${entry.id} does not match the pinned checksum; delete ${dir} to download it again`,
    );
  }
  return { artifacts: readModelFolder(dir), manifest };
}

// ---------------------------------------------------------------------------------------------
// The bundled fallback

/** nsfwjs ships its models as UMD scripts: model.json as an object, shards as base64 strings. */
function readNsfwjs(model: string): Artifacts {
  const require = createRequire(import.meta.url);
  const dir = join(nsfwjsModelsDir(), model);
  const modelJson = require(join(dir, 'model.min.js')) as Artifacts['modelJson'];
  const shards: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) {
      const b64 = require(join(dir, `${p}.min.js`)) as string;
      shards.push(Buffer.from(b64, 'base64'));
    }
  }
  return { modelJson, weightData: concat(shards) };
}

/** nsfwjs's exports map hides package.json: go from its CJS entry (dist/cjs/index.js) to dist/models. */
function nsfwjsModelsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('nsfwjs')), '..', 'models');
}

export function nsfwjsAvailable(): boolean {
  try {
    return existsSync(join(nsfwjsModelsDir(), 'mobilenet_v2_mid'));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Resolution

export interface ResolveOptions {
  /** --encoder: a registry id. */
  encoder?: string;
  /** --encoder-path: a local TF.js model folder. */
  encoderPath?: string;
  /** Layer/node name of A for --encoder-path (default: guessed). */
  featureNode?: string;
  /**
   * See the photo as n×n tiles of an n× larger input (tiles.ts); an `encoder` id ending in
   * `+tiles<n>` says the same.
   */
  tiles?: number;
  /** Allow network downloads (default true). */
  allowDownload?: boolean;
  onProgress?: DownloadProgress;
  /** Called for every warning as it happens (CLI stderr). */
  onWarning?: (w: string) => void;
}

function wrap(
  net: FeatureNet,
  fields: Omit<LoadedEncoder, 'embed' | 'dispose' | 'fingerprint' | 'shape'>,
): LoadedEncoder {
  return {
    ...fields,
    fingerprint: net.fingerprint,
    shape: net.shape,
    embed: net.embed,
    dispose: net.dispose,
  };
}

async function fromEntry(
  encodersDir: string,
  entry: EncoderEntry,
  opts: ResolveOptions,
): Promise<LoadedEncoder> {
  const warnings = entry.warning ? [entry.warning] : [];
  const common = {
    id: entry.id,
    title: entry.title,
    inputSize: entry.inputSize,
    preprocess: entry.preprocess,
    provenance: entry.provenance,
    warnings,
  };
  if (entry.source.type === 'bundled') {
    const net = await buildFeatureNet(readNsfwjs(entry.source.model), entry.featureNode, entry.inputSize);
    return wrap(net, { ...common, origin: 'bundled', path: null });
  }
  let origin: 'cache' | 'download' = 'cache';
  if (!isCached(encodersDir, entry.id)) {
    if (opts.allowDownload === false) throw unavailable(`${entry.id} is not cached and downloads are off`);
    await downloadEncoder(encodersDir, entry, { onProgress: opts.onProgress });
    origin = 'download';
  }
  const { artifacts, manifest } = readCached(encodersDir, entry);
  const net = await buildFeatureNet(artifacts, entry.featureNode, entry.inputSize);
  if (net.fingerprint !== manifest.fingerprint) {
    net.dispose();
    throw conflict(
      `cached encoder ${entry.id} changed since download; delete ${cacheDir(encodersDir, entry.id)}`,
    );
  }
  return wrap(net, { ...common, origin, path: cacheDir(encodersDir, entry.id) });
}

/** Loads a user-chosen local model folder; a known base (same fingerprint) keeps its registry id. */
export async function loadLocalEncoder(dir: string, featureNode?: string): Promise<LoadedEncoder> {
  const abs = resolve(dir);
  const artifacts = readModelFolder(abs);
  const net = await buildFeatureNet(artifacts, featureNode);
  const known = REGISTRY.find(
    (e) => e.source.type === 'download' && e.source.weightsSha256 === net.fingerprint,
  );
  if (known) {
    return wrap(net, {
      id: known.id,
      title: `${known.title} (local copy)`,
      inputSize: known.inputSize,
      preprocess: known.preprocess,
      provenance: `${known.provenance}; read from ${abs}`,
      origin: 'local',
      path: abs,
      warnings: [],
    });
  }
  const size = net.shape[0] * 32 >= 299 ? 299 : 224;
  return wrap(net, {
    id: `local-${net.fingerprint.slice(0, 12)}`,
    title: `local model ${basename(abs)}`,
    inputSize: size,
    // Keras/TM models expect [-1, 1]; graph exports from TF-Hub expect [0, 1].
    preprocess: isGraph(artifacts) ? 'zero1' : 'minus1to1',
    provenance: `local TF.js model folder ${abs}`,
    origin: 'local',
    path: abs,
    warnings: [],
  });
}

/**
 * The encoder to use: --encoder-path, else --encoder, else the best available: a cached ImageNet
 * base, then a download, then the bundled nsfwjs fallback (with its warning).
 */
export async function resolveEncoder(encodersDir: string, opts: ResolveOptions = {}): Promise<LoadedEncoder> {
  const named = opts.encoder ? splitTiledId(opts.encoder) : null;
  let enc: LoadedEncoder;
  if (opts.encoderPath) {
    enc = await loadLocalEncoder(opts.encoderPath, opts.featureNode);
  } else if (named) {
    const entry = encoderEntry(named.base);
    if (!entry) throw notFound(`unknown encoder '${opts.encoder}' (see plumage encoders)`);
    enc = await fromEntry(encodersDir, entry, opts);
  } else {
    enc = await resolveDefault(encodersDir, opts);
  }
  for (const w of enc.warnings) opts.onWarning?.(w);
  return tileEncoder(enc, opts.tiles ?? named?.tiles ?? 1);
}

async function resolveDefault(encodersDir: string, opts: ResolveOptions): Promise<LoadedEncoder> {
  for (const id of DEFAULT_PREFERENCE) {
    if (isCached(encodersDir, id)) {
      try {
        return await fromEntry(encodersDir, encoderEntry(id)!, { ...opts, allowDownload: false });
      } catch (e) {
        opts.onWarning?.(`cached ${id} unusable: ${(e as Error).message}`);
      }
    }
  }
  const problems: string[] = [];
  if (opts.allowDownload !== false && process.env.PLUMAGE_OFFLINE !== '1') {
    for (const id of DEFAULT_PREFERENCE) {
      try {
        return await fromEntry(encodersDir, encoderEntry(id)!, opts);
      } catch (e) {
        problems.push(`${id}: ${(e as Error).message}`);
      }
    }
  }
  const fb = await fromEntry(encodersDir, encoderEntry(FALLBACK_ID)!, opts);
  if (problems.length) fb.warnings.push(`download failed (${problems[0]})`);
  return fb;
}

// ---------------------------------------------------------------------------------------------
// Listing

export interface EncoderListing {
  id: string;
  title: string;
  availability: 'cached' | 'downloadable' | 'bundled' | 'local' | 'unavailable';
  shape: [number, number, number];
  inputSize: number;
  bytes: number;
  provenance: string;
  pinned: boolean;
  untested: boolean;
  warning: string | null;
}

function folderBytes(dir: string): number {
  let s = 0;
  for (const f of readdirSync(dir)) {
    const st = statSync(join(dir, f));
    s += st.isDirectory() ? folderBytes(join(dir, f)) : st.size;
  }
  return s;
}

export function listEncoders(encodersDir: string): EncoderListing[] {
  return REGISTRY.map((e) => {
    let availability: EncoderListing['availability'];
    let bytes: number;
    if (e.source.type === 'bundled') {
      availability = nsfwjsAvailable() ? 'bundled' : 'unavailable';
      bytes = 5_735_928;
    } else if (isCached(encodersDir, e.id)) {
      availability = 'cached';
      bytes = folderBytes(cacheDir(encodersDir, e.id));
    } else {
      availability = 'downloadable';
      bytes = e.source.approxBytes;
    }
    return {
      id: e.id,
      title: e.title,
      availability,
      shape: e.shape,
      inputSize: e.inputSize,
      bytes,
      provenance: e.provenance,
      pinned: e.source.type === 'download' ? Boolean(e.source.weightsSha256) : true,
      untested: Boolean(e.untested),
      warning: e.warning ?? null,
    };
  });
}
