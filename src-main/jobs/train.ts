/**
 * Training job (paper Algorithm 1, DESIGN §4): features come from the float16 cache, one random
 * caption per image per step, per-module updates from ml/algorithm1.ts, validation every epoch
 * with early stopping and best-checkpoint selection, a resumable checkpoint on cancel, and every
 * run recorded in the `runs` table.
 *
 * Determinism: all randomness (epoch permutations, caption choice) comes from one seeded
 * mulberry32 stream whose 32-bit state is saved in the resume checkpoint together with the current
 * permutation, the optimizer state and the weights, so a cancelled run resumed from its checkpoint
 * replays exactly the steps an uninterrupted run would have taken.
 *
 * Checkpoints in ws.checkpoints (PyTorch names, DESIGN §5):
 *   <run>.safetensors       best weights (by the validation score, see selectionScore)
 *   <run>.json              sidecar: variant, dims, vocab, classes, encoder, config, best epoch
 *   <run>.resume.safetensors  latest weights + optimizer state ("opt.<slot>.<param>")
 *   <run>.resume.json       position: epoch, step, RNG state, permutation, best score, patience
 */
import { Mulberry32 as Rng } from '../util/rng.ts';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { areaAverage, maskGrid, PART_SIGMA, partMaskGrid } from '../data/masks.ts';
import { openDb, type Db } from '../data/store.ts';
import { appendEpoch, createRun, getRun, updateRun, type RunRecord } from '../data/runs.ts';
import { workspace, type Workspace } from '../data/workspace.ts';
import { initBackend } from '../ml/backend.ts';
import { algorithm1Grads } from '../ml/algorithm1.ts';
import { FALLBACK_ID, FALLBACK_WARNING } from '../ml/encoders/registry.ts';
import { loadLocalEncoder } from '../ml/encoders/load.ts';
import { FeatureCache } from '../ml/feature-cache.ts';
import {
  capPrep,
  captionLoss,
  classify,
  feature,
  hasCap,
  hasCls,
  hasMedi,
  initParams,
  paramsFromTensors,
  pooled,
  type ModelDims,
  type Params,
  type Variant,
} from '../ml/model.ts';
import { readSafetensors, writeSafetensors } from '../ml/safetensors.ts';
import {
  applyGrads,
  createOptimState,
  disposeOptimState,
  optimStateFromTensors,
  optimStateTensors,
  type OptimState,
} from '../ml/optim.ts';
import { buildVocab as vocabBuild, decode as vocabDecode, encode as vocabEncode } from '../ml/vocab.ts';
import { runExtract } from './extract.ts';

// ---------------------------------------------------------------------------------------------
// Configuration

export type OptimizerName = 'sgd' | 'momentum' | 'adam';
export type DimsPreset = 'paper' | 'medium' | 'small' | 'tiny';

export interface TrainConfig {
  variant: Variant;
  /** Registry id of the encoder whose cached features to train on. */
  encoder?: string;
  /** Local TF.js model folder (its fingerprint gives the encoder id). */
  encoderPath?: string;
  epochs: number;
  batch: number;
  lr: number;
  optimizer: OptimizerName;
  lambda: number;
  mu: number;
  /**
   * With μ > 0: images without a painted mask get one generated from their visible part
   * locations (data/masks.ts partMaskGrid, Gaussian width partSigma × the longer image side).
   */
  partMasks: boolean;
  partSigma: number;
  seed: number;
  dims: DimsPreset;
  /** Split scheme (default: 'default'); a missing val part is carved from train (10%, seeded). */
  split: string;
  collectionId?: number;
  /** Caption length T including <bos>/<eos>. */
  maxLen: number;
  /** Words seen fewer times in the training captions become <unk>. */
  minCount: number;
  /** Early stopping: epochs without a better validation score. */
  patience: number;
  /** Gradient clipping by global norm per module (0 = off). */
  clip: number;
  /** Learning-rate schedule over all steps: constant (the paper's) or cosine decay to 0. */
  schedule: 'constant' | 'cosine';
  warmStart?: string;
}

export const DEFAULT_CONFIG: Omit<TrainConfig, 'variant'> = {
  epochs: 30,
  batch: 128,
  lr: 0.1,
  optimizer: 'sgd',
  lambda: 1,
  mu: 0,
  partMasks: false,
  partSigma: PART_SIGMA,
  seed: 1,
  dims: 'paper',
  split: 'default',
  maxLen: 20,
  minCount: 1,
  patience: 5,
  clip: 0,
  schedule: 'constant',
};

/** D, E, Hd per preset: the paper's sizes, a demo size for 2 cores, a test size. */
export const DIMS: Record<DimsPreset, { D: number; E: number; Hd: number }> = {
  paper: { D: 1024, E: 512, Hd: 1024 },
  medium: { D: 256, E: 128, Hd: 256 },
  small: { D: 128, E: 64, Hd: 128 },
  tiny: { D: 16, E: 8, Hd: 16 },
};

// ---------------------------------------------------------------------------------------------
// Seeded randomness with a serialisable state

/** The training shuffle's generator (mulberry32 with a checkpointable 32-bit state). */
export { Rng };

// ---------------------------------------------------------------------------------------------
// Vocabulary and tokens

/** The model's vocabulary rules (ml/vocab.ts): words by decreasing count, ties alphabetical. */
export function buildVocab(captions: string[], minCount = 1): string[] {
  return vocabBuild(captions, { minCount }).words;
}

/** <bos> words… <eos> <pad>…, length T (words truncated to T − 2). */
export function encodeCaption(text: string, index: Map<string, number>, T: number): Int32Array {
  return vocabEncode({ words: [], index, minCount: 1 }, text, T);
}

/** Token ids → text: stops at <eos>, skips <bos>/<pad>. */
export function decodeCaption(ids: ArrayLike<number>, vocab: string[]): string {
  return vocabDecode({ words: vocab, index: new Map(), minCount: 1 }, ids);
}

// ---------------------------------------------------------------------------------------------
// Dataset

export interface Example {
  imageId: number;
  hash: string;
  label: number;
  captions: string[];
}

export interface Dataset {
  classes: { id: number; name: string }[];
  train: Example[];
  val: Example[];
  test: Example[];
  /** sha256 over the training + validation contents (image hashes, labels, captions). */
  version: string;
  splitNote: string;
}

export function loadDataset(db: Db, cfg: Pick<TrainConfig, 'split' | 'collectionId' | 'seed'>): Dataset {
  const rows = db
    .prepare(
      `SELECT i.id, i.content_hash AS hash, l.class_id AS classId, c.name AS className, s.part AS part
         FROM images i
         JOIN labels l ON l.image_id = i.id
         JOIN classes c ON c.id = l.class_id
         LEFT JOIN splits s ON s.image_id = i.id AND s.scheme = ?
        WHERE (? IS NULL OR i.collection_id = ?)
        ORDER BY i.id`,
    )
    .all(cfg.split, cfg.collectionId ?? null, cfg.collectionId ?? null) as {
    id: number;
    hash: string;
    classId: number;
    className: string;
    part: string | null;
  }[];
  if (!rows.length) throw new Error('no labelled images in the workspace (import a dataset first)');
  const caps = new Map<number, string[]>();
  for (const r of db
    .prepare(`SELECT image_id, text FROM captions WHERE deleted = 0 AND accepted = 1 ORDER BY image_id, ord`)
    .all() as { image_id: number; text: string }[]) {
    if (!caps.has(r.image_id)) caps.set(r.image_id, []);
    caps.get(r.image_id)!.push(r.text);
  }
  const classIds = [...new Set(rows.map((r) => r.classId))].sort((a, b) => a - b);
  const classIndex = new Map(classIds.map((id, i) => [id, i]));
  const names = new Map(rows.map((r) => [r.classId, r.className]));
  const classes = classIds.map((id) => ({ id, name: names.get(id)! }));
  const ex = (r: (typeof rows)[number]): Example => ({
    imageId: r.id,
    hash: r.hash,
    label: classIndex.get(r.classId)!,
    captions: caps.get(r.id) ?? [],
  });
  let train = rows.filter((r) => r.part === 'train').map(ex);
  const val = rows.filter((r) => r.part === 'val').map(ex);
  const test = rows.filter((r) => r.part === 'test').map(ex);
  let splitNote = `scheme '${cfg.split}'`;
  if (!train.length && !val.length && !test.length) {
    throw new Error(`no images in split scheme '${cfg.split}' (run plumage split, or pass --split)`);
  }
  if (!val.length) {
    // Carve 10% of each class's training images (at least one where a class has 3+) for validation.
    const rng = new Rng(cfg.seed ^ 0x5eed);
    const byClass = new Map<number, Example[]>();
    for (const e of train) {
      if (!byClass.has(e.label)) byClass.set(e.label, []);
      byClass.get(e.label)!.push(e);
    }
    const keep: Example[] = [];
    for (const [, xs] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
      const s = rng.shuffle(xs);
      const n = xs.length >= 3 ? Math.max(1, Math.round(xs.length * 0.1)) : 0;
      val.push(...s.slice(0, n));
      keep.push(...s.slice(n));
    }
    train = keep.sort((a, b) => a.imageId - b.imageId);
    val.sort((a, b) => a.imageId - b.imageId);
    splitNote += ` (validation: 10% of train, seeded)`;
  }
  if (!train.length) throw new Error(`split '${cfg.split}' has no training images`);
  const h = createHash('sha256');
  for (const e of [...train, ...val])
    h.update(`${e.hash}\t${classes[e.label].name}\t${e.captions.join('\u0001')}\n`);
  return { classes, train, val, test, version: h.digest('hex').slice(0, 16), splitNote };
}

// ---------------------------------------------------------------------------------------------
// Optimizer: ml/optim.ts (SGD, momentum, Adam); its state is checkpointed as "opt.<name>".

/** Scales each module's gradients (medi / cls / cap) to at most `maxNorm` (global norm). */
function clipByModule(grads: Record<string, tf.Tensor>, maxNorm: number): void {
  if (!(maxNorm > 0)) return;
  const groups = new Map<string, string[]>();
  for (const n of Object.keys(grads)) {
    const g = n.split('.')[0];
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(n);
  }
  for (const names of groups.values()) {
    const norm = Math.sqrt(
      names.reduce((s, n) => s + tf.tidy(() => tf.sum(tf.square(grads[n])).dataSync()[0]), 0),
    );
    if (norm > maxNorm) {
      for (const n of names) {
        const old = grads[n];
        grads[n] = tf.mul(old, maxNorm / norm);
        old.dispose();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

export interface Sidecar {
  run: string;
  variant: Variant;
  dims: ModelDims;
  vocab: string[];
  classes: { id: number; name: string }[];
  encoder: string;
  encoderPath: string | null;
  featureShape: [number, number, number];
  maxLen: number;
  config: TrainConfig;
  epoch: number;
  bestScore: number | null;
}

interface ResumeState {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  rng: number;
  perm: number[];
  bestScore: number | null;
  bestEpoch: number;
  badEpochs: number;
  optimizerT: number;
  elapsedMs: number;
  finished: boolean;
}

export function checkpointPaths(ws: Workspace, run: string) {
  return {
    weights: join(ws.checkpoints, `${run}.safetensors`),
    sidecar: join(ws.checkpoints, `${run}.json`),
    resumeWeights: join(ws.checkpoints, `${run}.resume.safetensors`),
    resumeState: join(ws.checkpoints, `${run}.resume.json`),
  };
}

function atomicWrite(path: string, write: (tmp: string) => void): void {
  const tmp = `${path}.${process.pid}.tmp`;
  write(tmp);
  renameSync(tmp, path);
}

function tensorsOf(params: Record<string, tf.Tensor>, prefix = '') {
  const out: Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }> = {};
  for (const [n, t] of Object.entries(params)) {
    out[prefix + n] = {
      dtype: t.dtype === 'int32' ? 'I32' : 'F32',
      shape: t.shape,
      data: t.dataSync() as Float32Array | Int32Array,
    };
  }
  return out;
}

function saveWeights(path: string, params: Params, meta: Record<string, string>): void {
  atomicWrite(path, (tmp) => writeSafetensors(tmp, tensorsOf(params), { format: 'pt', ...meta }));
}

function saveResume(ws: Workspace, run: string, params: Params, opt: OptimState, state: ResumeState): void {
  const p = checkpointPaths(ws, run);
  const optTensors = optimStateTensors(opt);
  const all = { ...tensorsOf(params), ...tensorsOf(optTensors, 'opt.') };
  optTensors['#step'].dispose();
  atomicWrite(p.resumeWeights, (tmp) => writeSafetensors(tmp, all, { format: 'pt' }));
  atomicWrite(p.resumeState, (tmp) => writeFileSync(tmp, JSON.stringify({ ...state, optimizerT: opt.step })));
}

export function readSidecar(ws: Workspace, run: string): Sidecar {
  const p = checkpointPaths(ws, run).sidecar;
  if (!existsSync(p)) throw new Error(`run ${run} has no checkpoint sidecar (${p})`);
  return JSON.parse(readFileSync(p, 'utf8')) as Sidecar;
}

/** The best weights of a run as plain tensors (the caller disposes them). */
export function loadRunWeights(ws: Workspace, run: string): Record<string, tf.Tensor> {
  const f = readSafetensors(checkpointPaths(ws, run).weights);
  const out: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(f.tensors))
    out[n] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
  return out;
}

/**
 * Warm start: copies the parent run's tensors into the new parameters. Rows of class-indexed
 * tensors (cls.*) are matched by class name and rows of word-indexed tensors (cap.embed,
 * cap.out) by word, so a retrain after adding classes or words keeps everything it can; other
 * tensors are copied when their shapes agree.
 */
export function warmStart(
  ws: Workspace,
  parent: string,
  params: Params,
  vocab: string[],
  classes: { name: string }[],
): string[] {
  const side = readSidecar(ws, parent);
  const f = readSafetensors(checkpointPaths(ws, parent).weights);
  const reused: string[] = [];
  const rowMap = (name: string): number[] | null => {
    if (name.startsWith('cls.')) {
      const old = new Map(side.classes.map((c, i) => [c.name, i]));
      return classes.map((c) => old.get(c.name) ?? -1);
    }
    if (name === 'cap.embed.weight' || name.startsWith('cap.out.')) {
      const old = new Map(side.vocab.map((w, i) => [w, i]));
      return vocab.map((w) => old.get(w) ?? -1);
    }
    return null;
  };
  for (const [n, p] of Object.entries(params)) {
    const src = f.tensors[n];
    if (!src) continue;
    const map = rowMap(n);
    if (map) {
      const rowLen = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const srcRowLen = src.shape.slice(1).reduce((a, b) => a * b, 1);
      if (rowLen !== srcRowLen) continue;
      const data = (p.dataSync() as Float32Array).slice();
      let hit = 0;
      map.forEach((j, i) => {
        if (j >= 0) {
          data.set((src.data as Float32Array).subarray(j * rowLen, (j + 1) * rowLen), i * rowLen);
          hit++;
        }
      });
      if (hit) {
        p.assign(tf.tensor(data, p.shape));
        reused.push(`${n} (${hit}/${map.length} rows)`);
      }
    } else if (src.shape.join() === p.shape.join()) {
      p.assign(tf.tensor(src.data, src.shape, 'float32'));
      reused.push(n);
    }
  }
  return reused;
}

// ---------------------------------------------------------------------------------------------
// Evaluation helpers (validation during training; test top-1/top-5 at the end)

export interface EvalResult {
  top1: number | null;
  top5: number | null;
  captionLoss: number | null;
}

export function evaluateSplit(
  params: Params | Record<string, tf.Tensor>,
  variant: Variant,
  data: Example[],
  cache: FeatureCache,
  index: Map<string, number>,
  T: number,
  batch = 64,
): EvalResult {
  if (!data.length) return { top1: null, top5: null, captionLoss: null };
  let c1 = 0;
  let c5 = 0;
  let capSum = 0;
  let capN = 0;
  for (let i = 0; i < data.length; i += batch) {
    const chunk = data.slice(i, i + batch);
    const { data: A, shape } = cache.getBatch(chunk.map((e) => e.hash));
    tf.tidy(() => {
      const v = pooled(tf.tensor4d(A, shape));
      const feat = feature(params, variant, v);
      if (hasCls(variant)) {
        const logits = classify(params, feat).arraySync() as number[][];
        logits.forEach((row, j) => {
          const y = chunk[j].label;
          const rank = row.filter((x) => x > row[y]).length;
          if (rank === 0) c1++;
          if (rank < 5) c5++;
        });
      }
      if (hasCap(variant)) {
        // Up to 5 references per image, the same ones every epoch.
        const rows: number[] = [];
        const caps: Int32Array[] = [];
        chunk.forEach((e, j) =>
          e.captions.slice(0, 5).forEach((c) => (rows.push(j), caps.push(encodeCaption(c, index, T)))),
        );
        if (caps.length) {
          const f = tf.gather(feat, tf.tensor1d(rows, 'int32'));
          const flat = new Int32Array(caps.length * T);
          caps.forEach((c, k) => flat.set(c, k * T));
          const l = captionLoss(
            capPrep(params),
            f,
            tf.tensor2d(flat, [caps.length, T], 'int32'),
          ).dataSync()[0];
          capSum += l * caps.length;
          capN += caps.length;
        }
      }
    });
  }
  return {
    top1: hasCls(variant) ? c1 / data.length : null,
    top5: hasCls(variant) ? c5 / data.length : null,
    captionLoss: hasCap(variant) && capN ? capSum / capN : null,
  };
}

/**
 * Model selection score (higher is better): cnn → val top-1; lrcn → −(val caption loss)/ln V;
 * medi/cam → top-1 − (caption loss)/ln V. Dividing by ln V (the loss of a uniform guess) puts the
 * caption term on the same 0–1 scale as accuracy, so neither head is ignored.
 */
export function selectionScore(r: EvalResult, V: number): number {
  const cap = r.captionLoss !== null ? r.captionLoss / Math.log(Math.max(V, 2)) : 0;
  return (r.top1 ?? 0) - cap;
}

// ---------------------------------------------------------------------------------------------
// The training loop

export interface TrainEvent {
  type: 'start' | 'step' | 'epoch' | 'log';
  run?: string;
  epoch?: number;
  epochs?: number;
  step?: number;
  steps?: number;
  globalStep?: number;
  totalSteps?: number;
  losses?: { class: number; caption: number; cam: number; mask: number; total: number };
  pairsPerSec?: number;
  etaSec?: number;
  val?: EvalResult & { score: number };
  message?: string;
}

export interface TrainOptions {
  home: string;
  config: Partial<TrainConfig> & { variant: Variant };
  /** Resume this run from its checkpoint (the config comes from the run). */
  resume?: string;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
  /** Test hook: behave as if cancelled after this many global steps. */
  stopAfterSteps?: number;
}

export interface TrainResult {
  run: string;
  variant: Variant;
  status: 'done' | 'cancelled' | 'failed';
  encoder: string;
  backend: string;
  dataset_version: string;
  epochs_run: number;
  best_epoch: number;
  steps: number;
  val: (EvalResult & { score: number }) | null;
  test: EvalResult | null;
  checkpoint: string | null;
  seconds: number;
  pairs_per_s: number;
  warnings: string[];
  reused?: string[];
  error?: string;
}

/**
 * Masks of the training images at the feature map's resolution (H×W, values 0–1) for the
 * μ·L_mask term (DESIGN §4, beyond the paper): the curator-painted mask (area average, the same
 * reading as the heat-map view's), else — with `partMasks` — one generated from the visible part
 * locations. Images with neither are absent from the map, so their rows carry no mask term.
 * Only read when μ > 0. Returns the map and how many masks came from parts.
 */
export async function loadMasks(
  db: Db,
  imageIds: number[],
  H: number,
  W: number,
  o: { partMasks?: boolean; partSigma?: number } = {},
): Promise<{ masks: Map<number, Float32Array>; painted: number; fromParts: number }> {
  const masks = new Map<number, Float32Array>();
  let painted = 0;
  let fromParts = 0;
  for (const id of imageIds) {
    let m: Float32Array | null;
    try {
      m = maskGrid(db, id, H, W);
    } catch {
      // not the stored 8-bit grey form (written by other tools or an older version): decode with sharp
      m = await anyPngMaskGrid(db, id, H, W);
    }
    if (m) painted++;
    else if (o.partMasks) {
      m = partMaskGrid(db, id, H, W, o.partSigma ?? PART_SIGMA);
      if (m) fromParts++;
    }
    if (m) masks.set(id, m);
  }
  return { masks, painted, fromParts };
}

/** A mask PNG of any colour type at H×W: its alpha channel when it has one, else its grey value. */
async function anyPngMaskGrid(db: Db, id: number, H: number, W: number): Promise<Float32Array | null> {
  const r = db.prepare('SELECT png FROM masks WHERE image_id = ?').get(id) as { png: Buffer } | undefined;
  if (!r) return null;
  const sharp = (await import('sharp')).default;
  const meta = await sharp(r.png).metadata();
  const img = sharp(r.png);
  const { data, info } = await (
    meta.hasAlpha ? img.extractChannel('alpha') : img.greyscale().extractChannel(0)
  )
    .raw()
    .toBuffer({ resolveWithObject: true });
  return areaAverage(
    new Uint8Array(data.buffer, data.byteOffset, data.length),
    info.width,
    info.height,
    H,
    W,
  );
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

export async function runTraining(opts: TrainOptions): Promise<TrainResult> {
  const ws = workspace(opts.home);
  const backend = await initBackend();
  const db = openDb(ws.dbPath);
  const emit = (e: TrainEvent) => opts.onEvent?.(e);
  const warnings: string[] = [];
  const warn = (w: string) => {
    if (!warnings.includes(w)) warnings.push(w);
    emit({ type: 'log', message: `WARNING: ${w}` });
  };
  let run: RunRecord | null = null;
  let resume: ResumeState | null = null;
  let cfg: TrainConfig;
  try {
    if (opts.resume) {
      run = getRun(db, opts.resume);
      if (!run) throw new Error(`no run ${opts.resume}`);
      const p = checkpointPaths(ws, run.id);
      if (!existsSync(p.resumeState)) throw new Error(`run ${run.id} has no resume checkpoint`);
      resume = JSON.parse(readFileSync(p.resumeState, 'utf8')) as ResumeState;
      if (resume.finished) throw new Error(`run ${run.id} already finished`);
      cfg = run.config as unknown as TrainConfig;
      // Allow extending the epoch budget on resume; nothing else may change.
      if (opts.config.epochs !== undefined) cfg.epochs = opts.config.epochs;
      for (const w of run.warnings) warn(w);
    } else {
      cfg = {
        ...DEFAULT_CONFIG,
        ...Object.fromEntries(Object.entries(opts.config).filter(([, v]) => v !== undefined)),
      } as TrainConfig;
    }
    const data = loadDataset(db, cfg);
    const allHashes = [...data.train, ...data.val, ...data.test].map((e) => e.hash);
    let encoderId = run?.encoder ?? (await chooseEncoder(ws, cfg, allHashes, warn));
    // Features missing for some images: extract them now (resumable, cached for next time).
    const needExtract =
      encoderId === null || allHashes.some((h) => !new FeatureCache(ws.features, encoderId!).has(h));
    if (needExtract) {
      emit({ type: 'log', message: 'extracting missing features…' });
      const ex = await runExtract({
        home: opts.home,
        encoder: encoderId && !cfg.encoderPath ? encoderId : undefined,
        encoderPath: cfg.encoderPath,
        collectionId: cfg.collectionId,
        onWarning: warn,
        signal: opts.signal,
      });
      encoderId = ex.encoder;
      for (const e of ex.errors) warn(`no features for ${e.path}: ${e.reason}`);
    }
    if (encoderId === FALLBACK_ID) warn(FALLBACK_WARNING);
    const cache = new FeatureCache(ws.features, encoderId!);
    const usable = (xs: Example[]) => xs.filter((e) => cache.has(e.hash));
    data.train = usable(data.train);
    data.val = usable(data.val);
    data.test = usable(data.test);
    if (!data.train.length) throw new Error('no training image has cached features');
    const featureShape = cache.get(data.train[0].hash).shape;
    const hasCaps = data.train.some((e) => e.captions.length);
    if (hasCap(cfg.variant) && !hasCaps)
      throw new Error(`variant ${cfg.variant} needs captions and the training images have none`);

    // Vocabulary and classes: from the sidecar when resuming (identical ids), else from the data.
    let vocab: string[];
    if (resume) vocab = readSidecar(ws, run!.id).vocab;
    else
      vocab = buildVocab(
        data.train.flatMap((e) => e.captions),
        cfg.minCount,
      );
    const index = new Map(vocab.map((w, i) => [w, i]));
    const dims: ModelDims = {
      K: featureShape[2],
      ...DIMS[cfg.dims],
      V: vocab.length,
      C: data.classes.length,
    };

    if (!run) {
      run = createRun(db, {
        collectionId: cfg.collectionId ?? null,
        variant: cfg.variant,
        encoder: encoderId!,
        backend: backend.name,
        config: cfg as unknown as Record<string, unknown>,
        datasetVersion: data.version,
        status: 'running',
        parentRun: cfg.warmStart ?? null,
        warnings,
      });
    } else {
      updateRun(db, run.id, {
        status: 'running',
        backend: backend.name,
        config: cfg as unknown as Record<string, unknown>,
      });
    }
    const runId = run.id;
    const paths = checkpointPaths(ws, runId);
    const sidecar: Sidecar = {
      run: runId,
      variant: cfg.variant,
      dims,
      vocab,
      classes: data.classes,
      encoder: encoderId!,
      encoderPath: cfg.encoderPath ?? null,
      featureShape,
      maxLen: cfg.maxLen,
      config: cfg,
      epoch: -1,
      bestScore: null,
    };

    // Parameters and optimizer: fresh (seeded), warm-started, or restored exactly.
    const params = initParams(cfg.variant, dims, cfg.seed);
    const optCfg = { kind: cfg.optimizer, lr: cfg.lr };
    let opt: OptimState = createOptimState();
    let reused: string[] | undefined;
    if (resume) {
      const f = readSafetensors(paths.resumeWeights);
      const optTensors: Record<string, tf.Tensor> = {};
      for (const [n, t] of Object.entries(f.tensors)) {
        const x = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
        if (n.startsWith('opt.')) optTensors[n.slice(4)] = x;
        else if (params[n]) {
          params[n].assign(x);
          x.dispose();
        } else x.dispose();
      }
      opt = optimStateFromTensors(optTensors);
      for (const x of Object.values(optTensors)) x.dispose();
      if (existsSync(paths.sidecar))
        Object.assign(sidecar, { epoch: readSidecar(ws, runId).epoch, bestScore: resume.bestScore });
    } else if (cfg.warmStart) {
      reused = warmStart(ws, cfg.warmStart, params, vocab, data.classes);
      emit({ type: 'log', message: `warm start from ${cfg.warmStart}: reused ${reused.length} tensors` });
    }

    let masks = new Map<number, Float32Array>();
    if (cfg.mu > 0 && hasMedi(cfg.variant)) {
      const m = await loadMasks(
        db,
        [...new Set(data.train.map((e) => e.imageId))],
        featureShape[0],
        featureShape[1],
        {
          partMasks: cfg.partMasks,
          partSigma: cfg.partSigma,
        },
      );
      masks = m.masks;
      emit({
        type: 'log',
        message: `masks: ${m.painted} painted, ${m.fromParts} from part locations, of ${data.train.length} training images`,
      });
      if (!masks.size)
        warn(
          cfg.partMasks
            ? '--mu is set but no training image has a painted mask or visible parts'
            : '--mu is set but no training image has a painted mask (--part-masks generates them from part locations)',
        );
    } else if (cfg.mu > 0) warn(`--mu has no effect on the ${cfg.variant} variant (no f_medi)`);
    const rng = new Rng(resume ? resume.rng : cfg.seed);
    const trainIdx = data.train.map((_, i) => i);
    const stepsPerEpoch = Math.ceil(data.train.length / cfg.batch);
    const totalSteps = stepsPerEpoch * cfg.epochs;
    const state: ResumeState = resume ?? {
      epoch: 0,
      stepInEpoch: 0,
      globalStep: 0,
      rng: rng.state,
      perm: [],
      bestScore: null,
      bestEpoch: -1,
      badEpochs: 0,
      optimizerT: 0,
      elapsedMs: 0,
      finished: false,
    };
    emit({ type: 'start', run: runId, epochs: cfg.epochs, steps: stepsPerEpoch, totalSteps });
    const t0 = Date.now() - state.elapsedMs;
    let sessionPairs = 0;
    const sessionStart = Date.now();
    let cancelled = false;
    let lastVal: (EvalResult & { score: number }) | null = null;
    const T = cfg.maxLen;

    outer: while (state.epoch < cfg.epochs) {
      if (state.stepInEpoch === 0) state.perm = rng.shuffle(trainIdx);
      const sums = { class: 0, caption: 0, cam: 0, mask: 0, total: 0 };
      let nSteps = 0;
      while (state.stepInEpoch < stepsPerEpoch) {
        // Yield to the event loop so a cancel message (worker) or SIGINT can arrive between steps.
        await new Promise<void>((r) => setImmediate(r));
        if (
          opts.signal?.aborted ||
          (opts.stopAfterSteps !== undefined && state.globalStep >= opts.stopAfterSteps)
        ) {
          cancelled = true;
          break outer;
        }
        const idx = state.perm.slice(state.stepInEpoch * cfg.batch, (state.stepInEpoch + 1) * cfg.batch);
        const exs = idx.map((i) => data.train[i]);
        const feats = cache.getBatch(exs.map((e) => e.hash));
        const caps = new Int32Array(exs.length * T);
        exs.forEach((e, j) => {
          // One random caption per image per step; images without captions get <bos><eos>.
          const text = e.captions.length ? e.captions[rng.int(e.captions.length)] : '';
          caps.set(encodeCaption(text, index, T), j * T);
        });
        const A = tf.tensor4d(feats.data, feats.shape);
        const labels = tf.tensor1d(
          exs.map((e) => e.label),
          'int32',
        );
        const captions = tf.tensor2d(caps, [exs.length, T], 'int32');
        let maskT: tf.Tensor3D | undefined;
        let maskRows: tf.Tensor1D | undefined;
        if (masks.size && exs.some((e) => masks.has(e.imageId))) {
          const [, H, W] = feats.shape;
          const m = new Float32Array(exs.length * H * W);
          exs.forEach((e, j) => {
            const x = masks.get(e.imageId);
            if (x) m.set(x, j * H * W);
          });
          maskT = tf.tensor3d(m, [exs.length, H, W]);
          maskRows = tf.tensor1d(
            exs.map((e) => (masks.has(e.imageId) ? 1 : 0)),
            'float32',
          );
        }
        const res = algorithm1Grads(
          params,
          cfg.variant,
          { A, labels, captions, masks: maskT, maskRows },
          { lambda: cfg.lambda, mu: cfg.mu },
        );
        maskT?.dispose();
        maskRows?.dispose();
        clipByModule(res.grads, cfg.clip);
        // The schedule depends only on the global step, so a resumed run gets the same rates.
        const lr =
          cfg.schedule === 'cosine'
            ? cfg.lr * 0.5 * (1 + Math.cos((Math.PI * state.globalStep) / totalSteps))
            : cfg.lr;
        applyGrads(params, res.grads, { ...optCfg, lr }, opt);
        for (const g of Object.values(res.grads)) g.dispose();
        res.classPred?.dispose();
        res.predCaptions?.dispose();
        A.dispose();
        labels.dispose();
        captions.dispose();
        for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += res.losses[k];
        nSteps++;
        state.stepInEpoch++;
        state.globalStep++;
        sessionPairs += exs.length;
        const secs = (Date.now() - sessionStart) / 1000;
        const rate = secs > 0 ? sessionPairs / secs : 0;
        const leftPairs = (totalSteps - state.globalStep) * cfg.batch;
        emit({
          type: 'step',
          run: runId,
          epoch: state.epoch,
          epochs: cfg.epochs,
          step: state.stepInEpoch,
          steps: stepsPerEpoch,
          globalStep: state.globalStep,
          totalSteps,
          losses: res.losses,
          pairsPerSec: rate,
          etaSec: rate > 0 ? leftPairs / rate : undefined,
        });
        if (!Number.isFinite(res.losses.total))
          throw new Error(`loss diverged at step ${state.globalStep} (try a lower --lr or --clip 5)`);
      }
      // End of epoch: validation, best checkpoint, early stopping.
      const ev = evaluateSplit(params, cfg.variant, data.val, cache, index, T);
      const score = selectionScore(ev, dims.V);
      lastVal = { ...ev, score };
      const improved = state.bestScore === null || score > state.bestScore;
      const mean = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, nSteps ? v / nSteps : 0]));
      appendEpoch(db, runId, {
        epoch: state.epoch,
        loss: mean,
        val: lastVal,
        improved,
        seconds: (Date.now() - t0) / 1000,
      });
      emit({
        type: 'epoch',
        run: runId,
        epoch: state.epoch,
        epochs: cfg.epochs,
        losses: mean as TrainEvent['losses'],
        val: lastVal,
      });
      if (improved) {
        state.bestScore = score;
        state.bestEpoch = state.epoch;
        state.badEpochs = 0;
        saveWeights(paths.weights, params, { run: runId, variant: cfg.variant, epoch: String(state.epoch) });
        sidecar.epoch = state.epoch;
        sidecar.bestScore = score;
        atomicWrite(paths.sidecar, (tmp) => writeFileSync(tmp, JSON.stringify(sidecar)));
        updateRun(db, runId, { checkpoint: `${runId}.safetensors` });
      } else state.badEpochs++;
      state.epoch++;
      state.stepInEpoch = 0;
      state.rng = rng.state;
      if (state.badEpochs >= cfg.patience) {
        emit({ type: 'log', message: `early stop: no better validation score for ${cfg.patience} epochs` });
        break;
      }
    }
    state.rng = rng.state;
    state.elapsedMs = Date.now() - t0;
    state.finished = !cancelled;
    saveResume(ws, runId, params, opt, state);
    if (state.bestEpoch < 0) {
      // Cancelled before the first epoch ended: keep the current weights as the run's model.
      saveWeights(paths.weights, params, { run: runId, variant: cfg.variant, epoch: '-1' });
      atomicWrite(paths.sidecar, (tmp) => writeFileSync(tmp, JSON.stringify(sidecar)));
      updateRun(db, runId, { checkpoint: `${runId}.safetensors` });
    }
    // Test accuracy of the best checkpoint (the full report is `plumage eval`).
    let test: EvalResult | null = null;
    if (!cancelled && data.test.length) {
      const best = loadRunWeights(ws, runId);
      test = evaluateSplit(best, cfg.variant, data.test, cache, index, T);
      for (const t of Object.values(best)) t.dispose();
    }
    const seconds = state.elapsedMs / 1000;
    const sessionRate = sessionPairs / Math.max(1e-3, (Date.now() - sessionStart) / 1000);
    updateRun(db, runId, {
      status: cancelled ? 'cancelled' : 'done',
      timings: {
        seconds,
        steps: state.globalStep,
        // (image, caption) pairs per second of this session (a resumed run measures its own part)
        pairs_per_s: sessionRate,
        backend: backend.detail,
      },
      warnings,
      ...(test
        ? {
            metrics: {
              top1: test.top1,
              top5: test.top5,
              test_caption_loss: test.captionLoss,
              source: 'train',
            },
          }
        : {}),
    });
    for (const p of Object.values(params)) p.dispose();
    disposeOptimState(opt);
    return {
      run: runId,
      variant: cfg.variant,
      status: cancelled ? 'cancelled' : 'done',
      encoder: encoderId!,
      backend: backend.name,
      dataset_version: data.version,
      epochs_run: state.epoch,
      best_epoch: state.bestEpoch,
      steps: state.globalStep,
      val: lastVal,
      test,
      checkpoint: `${runId}.safetensors`,
      seconds,
      pairs_per_s: sessionRate,
      warnings,
      reused,
    };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    if (run) updateRun(db, run.id, { status: 'failed', error: msg, warnings });
    throw e;
  } finally {
    db.close();
  }
}

/** Runs the training job in a worker thread (progress events, cancel → resumable checkpoint). */
export async function startTrainingWorker(
  opts: Omit<TrainOptions, 'signal' | 'onEvent'>,
  onEvent: (e: TrainEvent) => void,
) {
  const { runInWorker } = await import('./worker-host.ts');
  return runInWorker<TrainResult, TrainEvent>(new URL('./worker-train.ts', import.meta.url), opts, onEvent);
}

// ---------------------------------------------------------------------------------------------
// Import of PyTorch-layout weights (plumage import-weights)

export interface ImportWeightsOptions {
  home: string;
  file: string;
  variant?: Variant;
  vocab: string[] | null;
  classes: string[] | null;
  encoder?: string;
  collectionId?: number;
  maxLen?: number;
}

/**
 * Creates a finished run from a safetensors file in the DESIGN §5 layout: shapes are checked
 * against the variant, the vocabulary and class list against the tensors, and the weights and a
 * sidecar are written to the checkpoints folder like a trained run's.
 */
export async function importWeights(o: ImportWeightsOptions) {
  const ws = workspace(o.home);
  const backend = await initBackend();
  const f = readSafetensors(o.file);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(f.tensors))
    tensors[n] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
  const warnings: string[] = [];
  try {
    const { params, variant: inferred, dims } = paramsFromTensors(tensors, o.variant);
    for (const p of Object.values(params)) p.dispose();
    const variant = o.variant ?? inferred;
    if (!o.variant && inferred === 'cam')
      warnings.push(
        'medi.* present: imported as variant cam (pass --variant medi if it was trained without L_cam)',
      );
    if (hasCap(variant)) {
      if (!o.vocab)
        throw new Error('captioner weights need a vocabulary: put W.json beside the file or pass --vocab');
      if (o.vocab.length !== dims.V)
        throw new Error(`vocabulary has ${o.vocab.length} words, cap.embed.weight has ${dims.V} rows`);
    }
    if (hasCls(variant)) {
      if (!o.classes)
        throw new Error('classifier weights need class names: put W.json beside the file or pass --classes');
      if (o.classes.length !== dims.C)
        throw new Error(`class list has ${o.classes.length} names, cls.weight has ${dims.C} rows`);
    }
    const encoder = o.encoder ?? null;
    if (!encoder) throw new Error('name the encoder whose features these weights expect (--encoder ID)');
    const entry = (await import('../ml/encoders/registry.ts')).encoderEntry(encoder);
    if (entry && entry.shape[2] !== dims.K)
      throw new Error(
        `encoder ${encoder} gives K=${entry.shape[2]} channels, the weights expect K=${dims.K}`,
      );
    const db = openDb(ws.dbPath);
    try {
      // Class ids: by name in the given (or any) collection, so eval and suggestions can use them.
      const classRows = (o.classes ?? []).map((name) => {
        const r = db
          .prepare(
            `SELECT id FROM classes WHERE name = ? AND (? IS NULL OR collection_id = ?) ORDER BY id LIMIT 1`,
          )
          .get(name, o.collectionId ?? null, o.collectionId ?? null) as { id: number } | undefined;
        return { id: r?.id ?? -1, name };
      });
      const unknown = classRows.filter((c) => c.id < 0).length;
      if (unknown)
        warnings.push(`${unknown} of ${classRows.length} classes are not in the workspace (eval needs them)`);
      const h = createHash('sha256').update(readFileSync(o.file)).digest('hex').slice(0, 16);
      const cfg = {
        ...DEFAULT_CONFIG,
        variant,
        encoder,
        imported: o.file,
        maxLen: o.maxLen ?? 20,
      } as unknown as TrainConfig;
      const run = createRun(db, {
        collectionId: o.collectionId ?? null,
        variant,
        encoder,
        backend: backend.name,
        config: cfg as unknown as Record<string, unknown>,
        datasetVersion: `imported:${h}`,
        status: 'running',
        warnings,
      });
      const paths = checkpointPaths(ws, run.id);
      writeSafetensors(paths.weights, tensorsOf(tensors), { format: 'pt', run: run.id, variant });
      const sidecar: Sidecar = {
        run: run.id,
        variant,
        dims,
        vocab: o.vocab ?? [],
        classes: classRows,
        encoder,
        encoderPath: null,
        featureShape: entry ? entry.shape : [0, 0, dims.K],
        maxLen: o.maxLen ?? 20,
        config: cfg,
        epoch: -1,
        bestScore: null,
      };
      writeFileSync(paths.sidecar, JSON.stringify(sidecar));
      updateRun(db, run.id, { status: 'done', checkpoint: `${run.id}.safetensors`, warnings });
      return {
        run: run.id,
        variant,
        status: 'done' as const,
        dims,
        encoder,
        checkpoint: `${run.id}.safetensors`,
        warnings,
      };
    } finally {
      db.close();
    }
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
