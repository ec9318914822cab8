/**
 * Training job (paper Algorithm 1, docs/design.md: The model): features come from the float16 cache, one random
 * caption per image per step (or every caption once per epoch, sampling.ts), per-module updates from ml/algorithm1.ts, validation every epoch
 * with early stopping and best-checkpoint selection, a resumable checkpoint on cancel, and every
 * run recorded in the `runs` table.
 *
 * Determinism: all randomness (epoch permutations, caption choice) comes from one seeded
 * mulberry32 stream whose 32-bit state is saved in the resume checkpoint together with the current
 * permutation, the optimizer state and the weights, so a cancelled run resumed from its checkpoint
 * replays exactly the steps an uninterrupted run would have taken.
 *
 * Setting up a session is ./setup.ts; the run's files are written by ../run-artifact.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { SplitScores, TrainEvent, TrainJobResult, TrainLosses, TrainValidation } from '../../../shared/types.ts';
import { appendEpoch, updateRun } from '../../data/runs.ts';
import { openDb } from '../../data/store.ts';
import { workspace } from '../../data/workspace.ts';
import { algorithm1Grads, type Batch, type Regularisation, type StepOptions, type StepResult } from '../../ml/algorithm1.ts';
import { mixSeed } from '../../util/rng.ts';
import { initBackend } from '../../ml/backend.ts';
import type { Params, Variant } from '../../ml/model.ts';
import { applyGrads, disposeOptimState } from '../../ml/optim.ts';
import { checkpointPaths, loadRunWeights, saveResume, saveSidecar, saveWeights } from '../run-artifact.ts';
import { captionPrior } from './caption-prior.ts';
import { DEFAULT_CONFIG, DIMS, newRunConfig, requestSettings, type TrainConfig } from './config.ts';
import { encodeCaption } from './dataset.ts';
import { epochBudget, itemCaption, trainItems, type TrainItem } from './sampling.ts';
import { cropMaps, cropOffsets, mirrorMasks, mirrorRows } from './augment.ts';
import type { Example } from './dataset.ts';
import { mirroredKey } from '../../ml/feature-cache.ts';
import { estimateSeconds, optionPasses, stepFlops } from './estimate.ts';
import { markInterruptedRuns, type RunClaim } from '../run-owner.ts';
import { openSession, reporter, type Reporter, type Session } from './setup.ts';
import { evaluateSplit, selectionDecoding, selectionScore } from './validation.ts';
import { lambdaAt } from './lambda-schedule.ts';
import { invalidRequest } from '../../util/errors.ts';
import { GradientWorkers, stepWorkers } from './grad-workers.ts';
import { captionWords, docFreq, type DocFreq } from '../../ml/self-critical.ts';

export type { TrainEvent };

export interface TrainOptions {
  home: string;
  config: Partial<TrainConfig> & { variant: Variant };
  /** Resume this run from its checkpoint (the config comes from the run). */
  resume?: string;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
  /** Test hook: behave as if cancelled after this many global steps. */
  stopAfterSteps?: number;
  /**
   * Worker threads that compute each step's gradients in parts (grad-workers.ts); 1 = this
   * thread alone. Default: stepWorkers (every core on wasm for big steps, else 1).
   * Not part of the run's config: it changes only float32 summation order, and dropout's draws.
   */
  workers?: number;
  /**
   * After a finished run: score its collection with it in this same thread (jobs/predict.ts), so
   * the Retrain does not wait for a second worker to load TF.js and its backend again.
   */
  scoreCollection?: boolean;
}

/** Computes one step's gradients: in this thread, or split over the worker threads. */
type StepGrads = (P: Params, variant: Variant, batch: Batch, o: StepOptions) => StepResult | Promise<StepResult>;

/** A training's outcome: the train job's result as the window gets it (before scoring), plus the run's record. */
export interface TrainResult extends TrainJobResult {
  encoder: string;
  backend: string;
  /** e.g. `tfjs-node 4.22.0, libtensorflow 2.21.0` */
  backend_version: string;
  dataset_version: string;
  steps: number;
  val: TrainValidation | null;
  test: SplitScores | null;
  checkpoint: string | null;
  seconds: number;
  pairs_per_s: number;
  reused?: string[];
  error?: string;
}

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
    const norm = Math.sqrt(names.reduce((s, n) => s + tf.tidy(() => tf.sum(tf.square(grads[n])).dataSync()[0]), 0));
    if (norm > maxNorm) {
      for (const n of names) {
        const old = grads[n];
        grads[n] = tf.mul(old, maxNorm / norm);
        old.dispose();
      }
    }
  }
}

const zeroLosses = (): TrainLosses => ({ class: 0, caption: 0, cam: 0, mask: 0, total: 0 });

/**
 * The feature maps of a step's images: the mirror image's map where the run shows mirrored photos
 * and the coin says so (and it was extracted), then the random window where the run crops.
 * Runs recorded before these options have neither (= off).
 */
function stepMaps(s: Session, exs: Example[]) {
  const mirror = s.cfg.flipPhotos ? mirrorRows(s.cfg.seed, s.state.globalStep, exs.length) : exs.map(() => false);
  exs.forEach((e, j) => (mirror[j] &&= s.cache.has(mirroredKey(e.hash))));
  const whole = s.cache.getBatch(exs.map((e, j) => (mirror[j] ? mirroredKey(e.hash) : e.hash)));
  const [, H, W] = whole.shape;
  const size = s.cfg.cropFeatures ?? 0;
  const windows = size > 0 ? cropOffsets(s.cfg.seed, s.state.globalStep, exs.length, H, W, size) : null;
  const feats = windows ? cropMaps(whole.data, whole.shape, size, windows) : whole;
  return { feats, H, W, mirror, windows, size };
}

/** Every reference caption of each image [B,R,T] (R: the most any image has; the rest all PAD). */
function referenceRows(exs: Example[], index: Map<string, number>, T: number): tf.Tensor3D {
  const R = Math.max(1, ...exs.map((e) => e.captions.length));
  const rows = new Int32Array(exs.length * R * T);
  exs.forEach((e, j) => e.captions.forEach((c, r) => rows.set(encodeCaption(c, index, T), (j * R + r) * T)));
  return tf.tensor3d(rows, [exs.length, R, T], 'int32');
}

/** The tensors of one step: features, labels, each item's caption (sampling.ts), and masks where known. */
function stepBatch(s: Session, items: TrainItem[], withReferences: boolean) {
  const T = s.cfg.maxLen;
  const exs = items.map((it) => it.example);
  const { feats, H, W, mirror, windows, size } = stepMaps(s, exs);
  const caps = new Int32Array(exs.length * T);
  items.forEach((it, j) => {
    // Images without captions get <bos><eos>.
    const text = itemCaption(it, (n) => s.rng.int(n));
    caps.set(encodeCaption(text, s.index, T), j * T);
  });
  const batch = {
    A: tf.tensor4d(feats.data, feats.shape as [number, number, number, number]),
    labels: tf.tensor1d(exs.map((e) => e.label), 'int32'),
    captions: tf.tensor2d(caps, [exs.length, T], 'int32'),
    masks: undefined as tf.Tensor3D | undefined,
    maskRows: undefined as tf.Tensor1D | undefined,
    references: withReferences ? referenceRows(exs, s.index, T) : undefined,
  };
  if (s.masks.size && exs.some((e) => s.masks.has(e.imageId))) {
    const m = new Float32Array(exs.length * H * W);
    exs.forEach((e, j) => {
      const x = s.masks.get(e.imageId);
      if (x) m.set(x, j * H * W);
    });
    // a mask follows its image: mirrored, then cut to the same window
    mirrorMasks(m, [exs.length, H, W], mirror);
    const cut = windows ? cropMaps(m, [exs.length, H, W], size, windows) : { data: m, shape: [exs.length, H, W] };
    batch.masks = tf.tensor3d(cut.data, cut.shape as [number, number, number]);
    batch.maskRows = tf.tensor1d(exs.map((e) => (s.masks.has(e.imageId) ? 1 : 0)), 'float32');
  }
  return batch;
}

/**
 * The run's training-only regularisation at a step (runs recorded before these options have none).
 * The dropout seed depends only on the run's seed and the global step, so a resumed run drops the same units.
 * `references` gives the training references' document frequencies, which self-critical training scores with.
 */
export function regularisation(cfg: TrainConfig, globalStep: number, references?: () => DocFreq): Regularisation | undefined {
  const { dropout = 0, classSmoothing = 0, captionSmoothing = 0, classDropout = 0 } = cfg;
  const { unlikelihood = 0, scheduledSampling = 0, loopUnlikelihood = 0, selfCritical = 0 } = cfg;
  const captionOptions = unlikelihood || scheduledSampling || loopUnlikelihood || selfCritical;
  if (!dropout && !classSmoothing && !captionSmoothing && !classDropout && !captionOptions) return undefined;
  const seed = mixSeed(cfg.seed, globalStep);
  return {
    classSmoothing,
    captionSmoothing,
    ...(unlikelihood > 0 ? { unlikelihood, unlikelihoodOf: cfg.unlikelihoodOf ?? 'words' } : {}),
    ...(scheduledSampling > 0 ? { sampling: { rate: scheduledSampling, seed: mixSeed(seed, SAMPLING_STREAM) } } : {}),
    ...(loopUnlikelihood > 0 ? { loopUnlikelihood } : {}),
    ...(selfCritical > 0 ? { selfCritical: selfCriticalAt(cfg, seed, references) } : {}),
    dropout: dropout > 0 ? { rate: dropout, seed } : undefined,
    // its own stream, so the classifier's units are not dropped with the captioner's
    ...(classDropout > 0 ? { classDropout: { rate: classDropout, seed: mixSeed(seed, CLASS_DROPOUT_STREAM) } } : {}),
  };
}

/**
 * The run's options in force at a step: self-critical training is off until the share
 * `selfCriticalFrom` of the run's steps is done (a function of the global step only, so a resumed
 * run switches it on at the same step).
 */
export function optionsAtStep(cfg: TrainConfig, globalStep: number, totalSteps: number): TrainConfig {
  const start = Math.ceil((cfg.selfCriticalFrom ?? 0) * totalSteps);
  return globalStep < start && cfg.selfCritical ? { ...cfg, selfCritical: 0 } : cfg;
}

function selfCriticalAt(cfg: TrainConfig, stepSeed: number, references?: () => DocFreq) {
  if (!references) throw new Error("self-critical training needs the training references' document frequencies");
  const samples = cfg.selfCriticalSamples ?? 1;
  return { weight: cfg.selfCritical, seed: mixSeed(stepSeed, SELF_CRITICAL_STREAM), docFreq: references(), ...(samples > 1 ? { samples } : {}) };
}

/** CIDEr-D's document frequencies over the training photos' references, counted once per session. */
const sessionFreqs = new WeakMap<Session, DocFreq>();
function referenceFreq(s: Session): DocFreq {
  let df = sessionFreqs.get(s);
  if (!df) {
    df = docFreq(s.data.train.map((e) => e.captions.map((c) => captionWords(encodeCaption(c, s.index, s.cfg.maxLen)))));
    sessionFreqs.set(s, df);
  }
  return df;
}

/** The classifier dropout's seed stream (the captioner's dropout uses streams 0 and 1 of the step's seed). */
const CLASS_DROPOUT_STREAM = 2;
/** The seed stream of scheduled sampling's draws of which input words to replace. */
const SAMPLING_STREAM = 3;
/** The seed stream of self-critical training's sampled captions. */
const SELF_CRITICAL_STREAM = 4;

/** One optimizer step on the next batch of the epoch's permutation; returns its losses. */
async function trainStep(s: Session, grads: StepGrads): Promise<TrainLosses> {
  const { cfg, state } = s;
  const idx = state.perm.slice(state.stepInEpoch * cfg.batch, (state.stepInEpoch + 1) * cfg.batch);
  const now = optionsAtStep(cfg, state.globalStep, s.totalSteps);
  const batch = stepBatch(s, idx.map((i) => s.items[i]), (now.selfCritical ?? 0) > 0);
  const lambda = lambdaAt(cfg, state.globalStep, s.stepsPerEpoch);
  // runs recorded before camTarget / classWeight existed have neither: the contract's objective
  const res = await grads(s.params, cfg.variant, batch, {
    lambda,
    mu: cfg.mu,
    regularise: regularisation(now, state.globalStep, () => referenceFreq(s)),
    camTarget: cfg.camTarget,
    classWeight: cfg.classWeight,
  });
  clipByModule(res.grads, cfg.clip);
  // The schedule depends only on the global step, so a resumed run gets the same rates.
  const lr = cfg.schedule === 'cosine' ? cfg.lr * 0.5 * (1 + Math.cos((Math.PI * state.globalStep) / s.totalSteps)) : cfg.lr;
  // runs recorded before classLrScale existed have none (= 1)
  const lrScale = (cfg.classLrScale ?? 1) !== 1 ? { cls: cfg.classLrScale } : undefined;
  applyGrads(s.params, res.grads, { kind: cfg.optimizer, lr, weightDecay: cfg.weightDecay, lrScale }, s.opt);
  updateAverage(s);
  tf.dispose([...Object.values(res.grads), batch.A, batch.labels, batch.captions]);
  batch.references?.dispose();
  batch.masks?.dispose();
  batch.maskRows?.dispose();
  res.classPred?.dispose();
  res.predCaptions?.dispose();
  state.stepInEpoch++;
  state.globalStep++;
  s.clock.sessionPairs += idx.length;
  reportStep(s, res.losses);
  if (!Number.isFinite(res.losses.total))
    throw invalidRequest(`loss diverged at step ${state.globalStep} (try a lower --lr or --clip 5)`);
  return res.losses;
}

function reportStep(s: Session, losses: TrainLosses): void {
  const secs = (Date.now() - s.clock.sessionStart) / 1000;
  const rate = secs > 0 ? s.clock.sessionPairs / secs : 0;
  const leftPairs = (s.totalSteps - s.state.globalStep) * s.cfg.batch;
  s.report.emit({
    type: 'step',
    phase: 'train',
    run: s.runId,
    epoch: s.state.epoch,
    epochs: s.cfg.epochs,
    step: s.state.stepInEpoch,
    steps: s.stepsPerEpoch,
    globalStep: s.state.globalStep,
    totalSteps: s.totalSteps,
    losses,
    pairsPerSec: rate,
    etaSec: rate > 0 ? leftPairs / rate : undefined,
  });
}

/** Optimizer-state slot of a parameter's running average (averageWeights). */
const AVERAGE = 'average:';
const averaging = (cfg: TrainConfig) => (cfg.averageWeights ?? 0) > 0;

/** Starts the running average at the current weights (a new run's first weights). */
function startAverage(s: Session): void {
  if (!averaging(s.cfg)) return;
  for (const [n, p] of Object.entries(s.params)) if (!s.opt.slots[AVERAGE + n]) s.opt.slots[AVERAGE + n] = [tf.keep(tf.clone(p))];
}

/** After a step: average ← d·average + (1 − d)·weights. */
function updateAverage(s: Session): void {
  if (!averaging(s.cfg)) return;
  const d = s.cfg.averageWeights;
  for (const [n, p] of Object.entries(s.params)) {
    const slot = s.opt.slots[AVERAGE + n];
    const next = tf.tidy(() => tf.add(tf.mul(slot[0], d), tf.mul(p, 1 - d)));
    slot[0].dispose();
    slot[0] = tf.keep(next);
  }
}

/** The model the run validates and saves: the running average where the run keeps one, else the weights trained. */
export function modelWeights(s: Pick<Session, 'cfg' | 'params' | 'opt'>): Record<string, tf.Tensor> {
  if (!averaging(s.cfg)) return s.params;
  return Object.fromEntries(Object.keys(s.params).map((n) => [n, s.opt.slots[AVERAGE + n][0]]));
}

/** Saves the best weights so far (and the sidecar that names their epoch and score). */
function saveBest(s: Session, epoch: number, score: number | null): void {
  saveWeights(checkpointPaths(s.ws, s.runId).weights, modelWeights(s), { run: s.runId, variant: s.cfg.variant, epoch: String(epoch) });
  s.sidecar.epoch = epoch;
  s.sidecar.bestScore = score;
  saveSidecar(s.ws, s.sidecar);
  updateRun(s.db, s.runId, { checkpoint: `${s.runId}.safetensors` });
}

/** End of an epoch: validation, the epoch's record, best checkpoint, early stopping. Returns whether to stop. */
function endEpoch(s: Session, sums: TrainLosses, nSteps: number): boolean {
  const { cfg, state } = s;
  const decoding = selectionDecoding(cfg.select);
  const weights = modelWeights(s);
  // the product decoding ranks against the prior of the weights it decodes with
  const prior = decoding === 'product' ? captionPrior(weights, cfg.variant, s.data.train, s.cache) : null;
  const ev = evaluateSplit(weights, cfg.variant, s.data.val, s.cache, s.index, cfg.maxLen, 64, decoding, prior);
  const score = selectionScore(ev, s.dims.V, cfg.select);
  const val = (s.lastVal = { ...ev, score });
  const improved = state.bestScore === null || score > state.bestScore;
  const mean = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, nSteps ? v / nSteps : 0])) as unknown as TrainLosses;
  const seconds = (Date.now() - s.clock.t0) / 1000;
  appendEpoch(s.db, s.runId, { epoch: state.epoch, loss: mean, val, improved, seconds });
  s.report.emit({ type: 'epoch', phase: 'train', run: s.runId, epoch: state.epoch, epochs: cfg.epochs, losses: mean, val });
  if (improved) {
    state.bestScore = score;
    state.bestEpoch = state.epoch;
    state.badEpochs = 0;
    saveBest(s, state.epoch, score);
  } else state.badEpochs++;
  state.epoch++;
  state.stepInEpoch = 0;
  state.rng = s.rng.state;
  if (state.badEpochs < cfg.patience) return false;
  s.report.emit({ type: 'log', phase: 'train', message: `early stop: no better validation score for ${cfg.patience} epochs` });
  return true;
}

const nextTick = () => new Promise<void>((r) => setImmediate(r));

/** Writes the resume checkpoint at the current position (mid-epoch too) and refreshes the heartbeat. */
function checkpoint(s: Session): void {
  s.state.rng = s.rng.state;
  s.state.elapsedMs = Date.now() - s.clock.t0;
  saveResume(s.ws, s.runId, s.params, s.opt, s.state);
  s.claim.beat();
  s.clock.lastCheckpoint = Date.now();
}

const checkpointDue = (s: Session) =>
  Date.now() - s.clock.lastCheckpoint >= (s.cfg.checkpointMinutes ?? DEFAULT_CONFIG.checkpointMinutes) * 60_000;

/** The epochs left in the budget; returns whether the session was cancelled. */
async function trainEpochs(s: Session, grads: StepGrads): Promise<boolean> {
  const { cfg, state, request } = s;
  const trainIdx = s.items.map((_, i) => i);
  // A new run is resumable from its first step on (its running average, if any, starts here).
  if (state.globalStep === 0) {
    startAverage(s);
    checkpoint(s);
  }
  while (!state.finished && state.epoch < cfg.epochs) {
    if (state.stepInEpoch === 0) state.perm = s.rng.shuffle(trainIdx);
    const sums = zeroLosses();
    let nSteps = 0;
    while (state.stepInEpoch < s.stepsPerEpoch) {
      // Yield to the event loop so a cancel message (worker) or SIGINT can arrive between steps.
      await nextTick();
      if (request.signal?.aborted || (request.stopAfterSteps !== undefined && state.globalStep >= request.stopAfterSteps))
        return true;
      const losses = await trainStep(s, grads);
      for (const k of Object.keys(sums) as (keyof TrainLosses)[]) sums[k] += losses[k];
      nSteps++;
      if (checkpointDue(s)) checkpoint(s);
    }
    if (endEpoch(s, sums, nSteps)) break;
    checkpoint(s);
  }
  return false;
}

/** The best weights' prior feature into the sidecar, for the product decoding of the run. */
function keepCaptionPrior(s: Session, best: Record<string, tf.Tensor>): void {
  const prior = captionPrior(best, s.cfg.variant, s.data.train, s.cache);
  if (!prior) return;
  s.sidecar.captionPrior = prior;
  saveSidecar(s.ws, s.sidecar);
}

/** The resume checkpoint, the caption prior and test scores of the best weights, the run's final record and the result. */
function finishRun(s: Session, cancelled: boolean, backend: { name: string; detail: string; version: string }): TrainResult {
  const { cfg, state } = s;
  state.rng = s.rng.state;
  state.elapsedMs = Date.now() - s.clock.t0;
  state.finished = !cancelled;
  saveResume(s.ws, s.runId, s.params, s.opt, state);
  // Cancelled before the first epoch ended: keep the current weights as the run's model.
  if (state.bestEpoch < 0) saveBest(s, -1, null);
  const best = loadRunWeights(s.ws, s.runId);
  let test: SplitScores | null = null;
  try {
    keepCaptionPrior(s, best);
    // Test accuracy of the best checkpoint (the full report is `plumage eval`).
    if (!cancelled && s.data.test.length) test = evaluateSplit(best, cfg.variant, s.data.test, s.cache, s.index, cfg.maxLen);
  } finally {
    tf.dispose(Object.values(best));
  }
  const seconds = state.elapsedMs / 1000;
  // (image, caption) pairs per second of this session (a resumed run measures its own part)
  const rate = s.clock.sessionPairs / Math.max(1e-3, (Date.now() - s.clock.sessionStart) / 1000);
  const status = cancelled ? 'cancelled' : 'done';
  updateRun(s.db, s.runId, {
    status,
    timings: { seconds, steps: state.globalStep, pairs_per_s: rate, backend: backend.detail, backend_version: backend.version },
    warnings: s.report.warnings,
    ...(test ? { metrics: { top1: test.top1, top5: test.top5, test_caption_loss: test.captionLoss, source: 'train' } } : {}),
  });
  tf.dispose(Object.values(s.params));
  disposeOptimState(s.opt);
  return {
    run: s.runId,
    variant: cfg.variant,
    status,
    encoder: s.encoderId,
    backend: backend.name,
    backend_version: backend.version,
    dataset_version: s.data.version,
    epochs_run: state.epoch,
    best_epoch: state.bestEpoch,
    steps: state.globalStep,
    val: s.lastVal,
    test,
    checkpoint: `${s.runId}.safetensors`,
    seconds,
    pairs_per_s: rate,
    warnings: s.report.warnings,
    reused: s.reused,
  };
}

/**
 * A medi run that is the first stage of a cam request (cfg.camRequest, api/ops/train.ts): the
 * rough duration of that cam fine-tune, computed as its own start will compute it — the request's
 * settings, its epoch budget on the same training photos, its steps and sizes.
 */
export function nextStageEstimate(backend: string, s: Pick<Session, 'cfg' | 'data' | 'dims'>): { variant: 'cam'; estimateSec: number } | null {
  const req = s.cfg.camRequest;
  if (!req || req.variant !== 'cam') return null;
  const cfg = newRunConfig(requestSettings(req));
  const epochs = epochBudget(cfg, s.data.train);
  const steps = Math.ceil(trainItems(s.data.train, cfg.allCaptions).length / cfg.batch) * epochs;
  const estimateSec = estimateSeconds(backend, 'cam', { ...s.dims, ...DIMS[cfg.dims] }, { batch: cfg.batch, T: cfg.maxLen, steps, extraPasses: optionPasses(cfg) });
  return estimateSec === null ? null : { variant: 'cam', estimateSec };
}

export async function runTraining(opts: TrainOptions): Promise<TrainResult> {
  const ws = workspace(opts.home);
  const backend = await initBackend();
  const db = openDb(ws.dbPath);
  const report = reporter(opts.onEvent);
  let runId: string | null = null;
  let claim: RunClaim | null = null;
  let pool: GradientWorkers | null = null;
  try {
    // A run left 'running' by a process that died is 'interrupted' from now on (resumable).
    markInterruptedRuns(db, ws);
    const s = await openSession(ws, db, backend.name, opts, report, (id, c) => ([runId, claim] = [id, c]));
    const left = { batch: s.cfg.batch, T: s.cfg.maxLen, steps: s.totalSteps - s.state.globalStep, extraPasses: optionPasses(s.cfg) };
    const estimateSec = estimateSeconds(backend.name, s.cfg.variant, s.dims, left) ?? undefined;
    const nextStage = nextStageEstimate(backend.name, s);
    report.emit({
      type: 'start', phase: 'train', run: s.runId, epochs: s.cfg.epochs, steps: s.stepsPerEpoch, totalSteps: s.totalSteps, estimateSec,
      ...(nextStage ? { nextStage } : {}),
    });
    const flops = stepFlops(s.cfg.variant, s.dims, s.cfg.batch, s.cfg.maxLen, left.extraPasses);
    const workers = stepWorkers(backend.name, s.cfg.batch, flops, opts.workers);
    if (workers > 1) {
      report.emit({ type: 'log', phase: 'train', message: `each step is computed in ${workers} parts on ${workers} worker threads` });
      pool = await GradientWorkers.start(s.params, workers, backend.name);
    }
    const cancelled = await trainEpochs(s, pool ? (...a) => pool!.grads(...a) : algorithm1Grads);
    const result = finishRun(s, cancelled, backend);
    return opts.scoreCollection && result.status === 'done' ? await scoreAfterTraining(opts, result, report) : result;
  } catch (e) {
    // Only a run this session set running is marked failed: a refused resume leaves the run as it was.
    if (runId) updateRun(db, runId, { status: 'failed', error: (e as Error).message.split('\n')[0], warnings: report.warnings });
    throw e;
  } finally {
    await (pool as GradientWorkers | null)?.close();
    (claim as RunClaim | null)?.release();
    db.close();
  }
}

/**
 * The finished run scores its collection (the review queue, suggestions and confusion cells
 * follow it). A failed scoring pass is a warning on a finished run, not a failed training.
 */
export const SCORING_FAILED = 'scoring the collection failed';

async function scoreAfterTraining(opts: TrainOptions, result: TrainResult, report: Reporter): Promise<TrainResult> {
  const { predictCollection } = await import('../predict.ts');
  try {
    const onProgress = (done: number, total: number) => report.emit({ type: 'progress', phase: 'predict', done, total });
    const scored = await predictCollection(opts.home, result.run, { signal: opts.signal, onProgress });
    return { ...result, scored: scored.images };
  } catch (e) {
    report.warn(`${SCORING_FAILED}: ${(e as Error).message.split('\n')[0]}`);
    return { ...result, warnings: report.warnings };
  }
}

/** Runs the training job in a worker thread (progress events, cancel → resumable checkpoint). */
export async function startTrainingWorker(opts: Omit<TrainOptions, 'signal' | 'onEvent'>, onEvent: (e: TrainEvent) => void) {
  const { runInWorker } = await import('../worker-host.ts');
  return runInWorker<TrainResult, TrainEvent>(new URL('./worker-train.ts', import.meta.url), opts, onEvent);
}
