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
 * The run's files (weights, sidecar, resume checkpoint) are written by ../run-artifact.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { appendEpoch, createRun, getRun, updateRun, type RunRecord } from '../../data/runs.ts';
import { openDb } from '../../data/store.ts';
import { workspace, type Workspace } from '../../data/workspace.ts';
import { algorithm1Grads } from '../../ml/algorithm1.ts';
import { initBackend } from '../../ml/backend.ts';
import { FALLBACK_ID, FALLBACK_WARNING } from '../../ml/encoders/registry.ts';
import { loadLocalEncoder } from '../../ml/encoders/load.ts';
import { FeatureCache } from '../../ml/feature-cache.ts';
import { hasCap, hasMedi, initParams, type ModelDims, type Variant } from '../../ml/model.ts';
import { applyGrads, createOptimState, disposeOptimState, optimStateFromTensors, type OptimState } from '../../ml/optim.ts';
import { readSafetensors } from '../../ml/safetensors.ts';
import { Mulberry32 as Rng } from '../../util/rng.ts';
import { runExtract } from '../extract.ts';
import {
  atomicWrite,
  checkpointPaths,
  loadRunWeights,
  readSidecar,
  saveResume,
  saveWeights,
  type ResumeState,
  type Sidecar,
} from '../run-artifact.ts';
import { DEFAULT_CONFIG, DIMS, type TrainConfig } from './config.ts';
import { estimateSeconds } from './estimate.ts';
import { buildVocab, encodeCaption, loadDataset, type Example } from './dataset.ts';
import { loadMasks } from './masks.ts';
import { evaluateSplit, selectionScore, type EvalResult } from './validation.ts';
import { warmStart } from './warm-start.ts';

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
  /** on 'start': rough duration of the remaining steps (estimate.ts), before any step ran */
  estimateSec?: number;
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
    const left = { batch: cfg.batch, T: cfg.maxLen, steps: totalSteps - state.globalStep };
    const estimateSec = estimateSeconds(backend.name, cfg.variant, dims, left) ?? undefined;
    emit({ type: 'start', run: runId, epochs: cfg.epochs, steps: stepsPerEpoch, totalSteps, estimateSec });
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
  const { runInWorker } = await import('../worker-host.ts');
  return runInWorker<TrainResult, TrainEvent>(new URL('./worker-train.ts', import.meta.url), opts, onEvent);
}
