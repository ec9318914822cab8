/**
 * Everything a training session needs before its first step: the configuration (a new run's, or
 * the resumed run's own), the data and its features, the vocabulary and model sizes, the run's
 * record and sidecar, the parameters and optimizer (fresh, warm-started or restored exactly),
 * the masks and the position in the schedule.
 */
import type { TrainEvent, TrainValidation } from '../../../shared/types.ts';
import { createRun, getRun, newRunId, updateRun, type RunRecord } from '../../data/runs.ts';
import type { Db } from '../../data/store.ts';
import type { Workspace } from '../../data/workspace.ts';
import type { FeatureCache } from '../../ml/feature-cache.ts';
import { hasCap, initParams, type ModelDims, type Params } from '../../ml/model.ts';
import { createOptimState, type OptimState } from '../../ml/optim.ts';
import { conflict, notFound, unavailable } from '../../util/errors.ts';
import { Mulberry32 as Rng } from '../../util/rng.ts';
import { claimRun, ownerAlive, type RunClaim } from '../run-owner.ts';
import {
  readResumeState,
  readSidecar,
  restoreResume,
  saveSidecar,
  type ResumeState,
  type Sidecar,
} from '../run-artifact.ts';
import { DIMS, newRunConfig, type TrainConfig } from './config.ts';
import { buildVocab, loadDataset, type Dataset } from './dataset.ts';
import { prepareFeatures } from './features.ts';
import { epochBudget, trainItems, type TrainItem } from './sampling.ts';
import { trainingMasks } from './masks.ts';
import { warmStart } from './warm-start.ts';

/** Events out of the job, and the run's warnings (each once, also sent as a log line). */
export interface Reporter {
  emit: (e: TrainEvent) => void;
  warn: (w: string) => void;
  warnings: string[];
}

export function reporter(onEvent?: (e: TrainEvent) => void): Reporter {
  const warnings: string[] = [];
  const emit = (e: TrainEvent) => onEvent?.(e);
  const warn = (w: string) => {
    if (!warnings.includes(w)) warnings.push(w);
    emit({ type: 'log', phase: 'train', message: `WARNING: ${w}` });
  };
  return { emit, warn, warnings };
}

export interface SessionRequest {
  config: Partial<TrainConfig> & Pick<TrainConfig, 'variant'>;
  resume?: string;
  signal?: AbortSignal;
  stopAfterSteps?: number;
}

/** One training session of a run (a new run, or one part of a resumed run). */
export interface Session {
  ws: Workspace;
  db: Db;
  cfg: TrainConfig;
  data: Dataset;
  cache: FeatureCache;
  encoderId: string;
  index: Map<string, number>;
  dims: ModelDims;
  runId: string;
  sidecar: Sidecar;
  params: Params;
  opt: OptimState;
  masks: Map<number, Float32Array>;
  rng: Rng;
  state: ResumeState;
  /** What an epoch shows (sampling.ts); the epoch's permutation is over these. */
  items: TrainItem[];
  stepsPerEpoch: number;
  totalSteps: number;
  report: Reporter;
  request: SessionRequest;
  reused?: string[];
  /** This process's claim on the run (heartbeat), released when the session ends. */
  claim: RunClaim;
  /** Run time before this session (resumed runs), this session's start, and its pairs so far. */
  clock: { t0: number; sessionStart: number; sessionPairs: number; lastCheckpoint: number };
  lastVal: TrainValidation | null;
}

interface Start {
  cfg: TrainConfig;
  /** The run being resumed, with its checkpoint position; null for a new run. */
  resumed: { run: RunRecord; state: ResumeState } | null;
}

/**
 * A new run: the defaults plus the options. A resumed run: its own configuration, of which only
 * the epoch budget may grow. A finished run is never resumed (nor touched).
 */
function resolveStart(db: Db, ws: Workspace, req: SessionRequest, warn: (w: string) => void): Start {
  if (!req.resume) return { cfg: newRunConfig(req.config), resumed: null };
  const run = getRun(db, req.resume);
  if (!run) throw notFound(`no run ${req.resume}`);
  if (run.status === 'done') throw conflict(`run ${run.id} already finished: there is nothing to resume`);
  if (run.status === 'running') {
    const { pid } = ownerAlive(ws, run.id);
    throw conflict(`run ${run.id} is being trained now${pid ? ` by process ${pid}` : ''}: it cannot be resumed twice`);
  }
  const state = readResumeState(ws, run.id);
  if (!state) throw unavailable(`run ${run.id} has no resume checkpoint`);
  const cfg = { ...(run.config as unknown as TrainConfig) };
  // The epoch budget may grow and the checkpoint interval change; nothing else.
  if (req.config.epochs !== undefined) cfg.epochs = req.config.epochs;
  if (req.config.checkpointMinutes !== undefined) cfg.checkpointMinutes = req.config.checkpointMinutes;
  for (const w of run.warnings) warn(w);
  return { cfg, resumed: { run, state } };
}

/**
 * The run's row: created for a new run (status running), switched back to running when resumed.
 * The claim comes first, so a 'running' row always has an owner to check.
 */
function recordRun(
  db: Db,
  ws: Workspace,
  start: Start,
  o: { encoder: string; backend: string; datasetVersion: string; warnings: string[] },
): { runId: string; claim: RunClaim } {
  const { cfg, resumed } = start;
  const runId = resumed ? resumed.run.id : newRunId();
  const claim = claimRun(ws, runId);
  try {
    if (resumed) {
      // Epochs after the checkpoint are trained again (a process killed after an epoch's record
      // but before its checkpoint): their records go, so each epoch is listed once.
      const epochs = resumed.run.epochs.filter((e) => Number(e.epoch) < resumed.state.epoch);
      updateRun(db, runId, { status: 'running', backend: o.backend, config: cfg as unknown as Record<string, unknown>, epochs });
    }
    else insertRun(db, runId, cfg, o);
  } catch (e) {
    claim.release();
    throw e;
  }
  return { runId, claim };
}

function insertRun(db: Db, id: string, cfg: TrainConfig, o: { encoder: string; backend: string; datasetVersion: string; warnings: string[] }) {
  createRun(db, {
    id,
    collectionId: cfg.collectionId ?? null,
    variant: cfg.variant,
    encoder: o.encoder,
    backend: o.backend,
    config: cfg as unknown as Record<string, unknown>,
    datasetVersion: o.datasetVersion,
    status: 'running',
    parentRun: cfg.warmStart ?? null,
    warnings: o.warnings,
  });
}

/** Parameters and optimizer: restored exactly (resume), warm-started from a parent, or fresh (seeded). */
function initModel(s: Pick<Session, 'ws' | 'cfg' | 'dims' | 'sidecar' | 'data' | 'report'>, start: Start) {
  const { cfg } = s;
  const params = initParams(cfg.variant, s.dims, cfg.seed);
  if (start.resumed) {
    const opt = restoreResume(s.ws, s.sidecar.run, params);
    return { params, opt, reused: undefined };
  }
  let reused: string[] | undefined;
  if (cfg.warmStart) {
    reused = warmStart(s.ws, cfg.warmStart, params, s.sidecar.vocab, s.data.classes);
    s.report.emit({ type: 'log', phase: 'train', message: `warm start from ${cfg.warmStart}: reused ${reused.length} tensors` });
  }
  return { params, opt: createOptimState(), reused };
}

const freshState = (rngState: number): ResumeState => ({
  epoch: 0,
  stepInEpoch: 0,
  globalStep: 0,
  rng: rngState,
  perm: [],
  bestScore: null,
  bestEpoch: -1,
  badEpochs: 0,
  optimizerT: 0,
  elapsedMs: 0,
  finished: false,
});

/**
 * Sets up a session. `onRunning` hears the run id as soon as its row is 'running' (from then on a
 * failure must mark the run failed).
 */
export async function openSession(
  ws: Workspace,
  db: Db,
  backend: string,
  req: SessionRequest,
  report: Reporter,
  onRunning: (runId: string, claim: RunClaim) => void,
): Promise<Session> {
  const start = resolveStart(db, ws, req, report.warn);
  const { cfg, resumed } = start;
  const data = loadDataset(db, cfg);
  // a new run records the epochs it will train; a resumed run keeps its own
  if (!resumed) cfg.epochs = epochBudget(cfg, data.train);
  const { encoderId, cache, featureShape } = await prepareFeatures(ws, cfg, data, { ...report, runEncoder: resumed?.run.encoder, signal: req.signal });
  if (hasCap(cfg.variant) && !data.train.some((e) => e.captions.length))
    throw unavailable(`variant ${cfg.variant} needs captions and the training images have none`);
  // Vocabulary: from the sidecar when resuming (identical ids), else from the training captions.
  const vocab = resumed ? readSidecar(ws, resumed.run.id).vocab : buildVocab(data.train.flatMap((e) => e.captions), cfg.minCount);
  const dims: ModelDims = { K: featureShape[2], ...DIMS[cfg.dims], V: vocab.length, C: data.classes.length };
  const { runId, claim } = recordRun(db, ws, start, { encoder: encoderId, backend, datasetVersion: data.version, warnings: report.warnings });
  onRunning(runId, claim);
  const sidecar: Sidecar = resumed
    ? { ...readSidecar(ws, runId), config: cfg, bestScore: resumed.state.bestScore }
    : {
        run: runId,
        variant: cfg.variant,
        dims,
        vocab,
        classes: data.classes,
        encoder: encoderId,
        encoderPath: cfg.encoderPath ?? null,
        featureShape,
        maxLen: cfg.maxLen,
        config: cfg,
        epoch: -1,
        bestScore: null,
      };
  // Written before the first step, so an interrupted run always has its vocabulary and classes.
  if (!resumed) saveSidecar(ws, sidecar);
  const model = initModel({ ws, cfg, dims, sidecar, data, report }, start);
  const log = (message: string) => report.emit({ type: 'log', phase: 'train', message });
  const masks = await trainingMasks(db, cfg, data.train.map((e) => e.imageId), featureShape, { log, warn: report.warn });
  const rng = new Rng(resumed ? resumed.state.rng : cfg.seed);
  const state = resumed ? resumed.state : freshState(rng.state);
  // Runs recorded before the option existed have no allCaptions (= one random caption per image).
  const items = trainItems(data.train, cfg.allCaptions ?? false);
  const stepsPerEpoch = Math.ceil(items.length / cfg.batch);
  const index = new Map(vocab.map((w, i) => [w, i]));
  const now = Date.now();
  return {
    ws, db, cfg, data, cache, encoderId, index, dims, runId, claim, sidecar, ...model, masks, rng, state,
    items, stepsPerEpoch, totalSteps: stepsPerEpoch * cfg.epochs, report, request: req,
    clock: { t0: now - state.elapsedMs, sessionStart: now, sessionPairs: 0, lastCheckpoint: now },
    lastVal: null,
  };
}
