/**
 * The encoder features a run trains on: which encoder (explicit, from a local folder, or the one
 * with the most cached features), extraction of the missing ones (cached for next time), and the
 * examples that have features.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { Workspace } from '../../data/workspace.ts';
import { FALLBACK_ID, FALLBACK_WARNING } from '../../ml/encoders/registry.ts';
import { loadLocalEncoder } from '../../ml/encoders/load.ts';
import { splitTiledId } from '../../ml/encoders/tiles.ts';
import { FeatureCache, mirroredKey } from '../../ml/feature-cache.ts';
import type { TrainEvent } from '../../../shared/types.ts';
import { rememberedEncoderPath, runExtract } from '../extract.ts';
import type { TrainConfig } from './config.ts';
import type { Dataset, Example } from './dataset.ts';
import { unavailable } from '../../util/errors.ts';

export interface FeatureReporter {
  emit: (e: TrainEvent) => void;
  warn: (w: string) => void;
}

/** Which encoder id to train on: explicit, from a local folder, or the one with the most cached features. */
async function chooseEncoder(ws: Workspace, cfg: TrainConfig, hashes: string[], warn: (w: string) => void) {
  if (cfg.encoderPath) {
    const enc = await loadLocalEncoder(cfg.encoderPath);
    const id = enc.id;
    enc.dispose();
    return id;
  }
  if (cfg.encoder) return cfg.encoder;
  if (existsSync(ws.features)) {
    let best: { id: string; n: number } | null = null;
    for (const id of readdirSync(ws.features)) {
      const c = new FeatureCache(ws.features, id);
      const n = hashes.filter((h) => c.has(h)).length;
      if (n && (!best || n > best.n)) best = { id, n };
    }
    if (best) return best.id;
  }
  warn('no cached features yet: extracting with the best available encoder first');
  return null;
}

/**
 * Where to load the run's encoder for extracting more maps: the folder a local encoder was read
 * from when the first maps were extracted (as captioning does), else the registry id; a tiled
 * encoder (`…+tiles<n>`) is tiled again either way.
 */
function encoderSource(ws: Workspace, cfg: TrainConfig, encoderId: string): { encoder?: string; encoderPath?: string; tiles?: number } {
  const remembered = rememberedEncoderPath(ws.home, encoderId);
  const encoderPath = cfg.encoderPath ?? (remembered && existsSync(remembered) ? remembered : undefined);
  return encoderPath ? { encoderPath, tiles: splitTiledId(encoderId).tiles } : { encoder: encoderId };
}

/**
 * The feature cache to train on, after extracting what is missing (the run's own encoder when
 * resuming). Drops the examples without features from `data` and fails when no training image
 * has any.
 */
export async function prepareFeatures(
  ws: Workspace,
  cfg: TrainConfig,
  data: Dataset,
  o: { runEncoder?: string; signal?: AbortSignal } & FeatureReporter,
): Promise<{ encoderId: string; cache: FeatureCache; featureShape: [number, number, number] }> {
  const allHashes = [...data.train, ...data.val, ...data.test].map((e) => e.hash);
  let encoderId = o.runEncoder ?? (await chooseEncoder(ws, cfg, allHashes, o.warn));
  const needExtract = encoderId === null || allHashes.some((h) => !new FeatureCache(ws.features, encoderId!).has(h));
  if (needExtract) {
    o.emit({ type: 'log', phase: 'extract', message: 'extracting missing features…' });
    const source = encoderId ? encoderSource(ws, cfg, encoderId) : { encoderPath: cfg.encoderPath };
    const ex = await runExtract({
      home: ws.home,
      ...source,
      collectionId: cfg.collectionId,
      onWarning: o.warn,
      onProgress: (done, total) => o.emit({ type: 'progress', phase: 'extract', done, total }),
      signal: o.signal,
    });
    encoderId = ex.encoder;
    for (const e of ex.errors) o.warn(`no features for ${e.path}: ${e.reason}`);
  }
  if (encoderId === FALLBACK_ID) o.warn(FALLBACK_WARNING);
  const cache = new FeatureCache(ws.features, encoderId!);
  const usable = (xs: Example[]) => xs.filter((e) => cache.has(e.hash));
  data.train = usable(data.train);
  data.val = usable(data.val);
  data.test = usable(data.test);
  if (!data.train.length) throw unavailable('no training image has cached features');
  if (cfg.flipPhotos) await prepareMirrored(ws, cfg, encoderId!, data.train, cache, o);
  return { encoderId: encoderId!, cache, featureShape: cache.get(data.train[0].hash).shape as [number, number, number] };
}

/**
 * Training with mirrored photos: the maps of the training images' mirror images, extracted once
 * with the run's encoder and cached beside the plain ones (a second encoder pass per training
 * photo). An image whose mirror cannot be extracted is always shown as it is.
 */
async function prepareMirrored(ws: Workspace, cfg: TrainConfig, encoderId: string, train: Example[], cache: FeatureCache, o: { signal?: AbortSignal } & FeatureReporter) {
  const missing = new Set(train.map((e) => e.hash).filter((h) => !cache.has(mirroredKey(h))));
  if (!missing.size) return;
  o.emit({ type: 'log', phase: 'extract', message: `extracting the mirrored training photos (${missing.size})…` });
  const ex = await runExtract({
    home: ws.home,
    ...encoderSource(ws, cfg, encoderId),
    collectionId: cfg.collectionId,
    mirrored: missing,
    onWarning: o.warn,
    onProgress: (done, total) => o.emit({ type: 'progress', phase: 'extract', done, total }),
    signal: o.signal,
  });
  if (ex.encoder !== encoderId) throw unavailable(`mirrored photos were extracted with ${ex.encoder}, not the run's ${encoderId}`);
}
