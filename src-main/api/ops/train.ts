import { z } from 'zod';
import type { JobDetail } from '../../../shared/types.ts';
import { camFineTune, DIMS, RECIPE_CHOICES, recipeNamed, requestSettings, type DimsPreset, type TrainConfig } from '../../jobs/train/config.ts';
import type { TrainEvent, TrainResult } from '../../jobs/train/loop.ts';
import { getRun } from '../../data/runs.ts';
import { CAM_TARGETS } from '../../ml/algorithm1.ts';
import { REPEAT_UNITS } from '../../ml/unlikelihood.ts';
import { notFound, PlumageError } from '../../util/errors.ts';
import { cancelOnAbort, type JobIo, type OpContext } from './context.ts';
import { epochs, id, name, path, positiveInt, runId, variant } from './schemas.ts';

const DIMS_PRESETS = Object.keys(DIMS) as [DimsPreset, ...DimsPreset[]];
const finite = z.number().finite();
const nonNegative = finite.min(0);
/** Worker threads per training step (jobs/train/grad-workers.ts); not stored with the run. */
const workers = positiveInt(64).optional();

/** A training request: every field of TrainConfig a person may set (the rest take the trainer's defaults). */
export const trainRequest = z.strictObject({
  variant,
  /** Fills in every option not given: standard (the default; `fast` and `practical` are its old names) or paper. */
  recipe: z.enum(RECIPE_CHOICES).optional(),
  encoder: name.optional(),
  encoderPath: path.optional(),
  epochs: epochs.optional(),
  batch: positiveInt(65_536).optional(),
  lr: finite.positive().optional(),
  optimizer: z.enum(['sgd', 'momentum', 'adam']).optional(),
  lambda: nonNegative.optional(),
  /** Epochs with λ = 0, then epochs of a linear rise to λ (jobs/train/lambda-schedule.ts). */
  lambdaWarmup: nonNegative.optional(),
  lambdaRamp: nonNegative.optional(),
  mu: nonNegative.optional(),
  /** Which Grad-CAMs L_cam moves: both (the paper), or only one side towards the other held fixed. */
  camTarget: z.enum(CAM_TARGETS).optional(),
  /** Weight of L_class in the objective (1 = the contract's). */
  classWeight: finite.positive().max(100).optional(),
  partMasks: z.boolean().optional(),
  partSigma: finite.positive().optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  dims: z.enum(DIMS_PRESETS).optional(),
  split: name.optional(),
  collectionId: id.optional(),
  patience: positiveInt(10_000).optional(),
  /** Best checkpoint by validation caption loss (default) or validation CIDEr-D of the greedy or the product decoding's captions. */
  select: z.enum(['loss', 'cider', 'product']).optional(),
  maxLen: z.number().int().min(3).max(1000).optional(),
  minCount: positiveInt(1_000_000).optional(),
  clip: nonNegative.optional(),
  schedule: z.enum(['constant', 'cosine']).optional(),
  /** Training levers (jobs/train/config.ts): every caption per epoch, dropout, label smoothing, weight decay, feature-map crops, mirrored photos. */
  allCaptions: z.boolean().optional(),
  /** With allCaptions: the fewest passes over every photo (the epoch count grows to reach it; 0 = epochs as given). */
  minPhotoPasses: z.number().int().min(0).max(10_000).optional(),
  dropout: finite.min(0).max(0.9).optional(),
  classSmoothing: finite.min(0).max(0.5).optional(),
  /** Dropout on h as the classifier's input inside L_class (medi/cam, training only). */
  classDropout: finite.min(0).max(0.9).optional(),
  /** The classifier's learning rate as a multiple of lr (training only). */
  classLrScale: finite.positive().max(100).optional(),
  captionSmoothing: finite.min(0).max(0.5).optional(),
  /** Weight of the unlikelihood of repeats of what a caption already wrote (training only; 0 = off). */
  unlikelihood: finite.min(0).max(100).optional(),
  /** What counts as a repeat there: any earlier word, or the continuation of an earlier bigram. */
  unlikelihoodOf: z.enum(REPEAT_UNITS).optional(),
  /** Share of caption input words replaced by the captioner's own guesses (training only; 0 = off). */
  scheduledSampling: finite.min(0).max(0.9).optional(),
  /** Weight of the unlikelihood of loops in the captioner's own greedy captions (training only; 0 = off). */
  loopUnlikelihood: finite.min(0).max(100).optional(),
  /** Weight of self-critical training on sampled captions scored by CIDEr-D (training only; 0 = off). */
  selfCritical: finite.min(0).max(100).optional(),
  /** Captions sampled per photo by self-critical training: 1 scores against the greedy caption, more against each other's mean. */
  selfCriticalSamples: z.number().int().min(1).max(16).optional(),
  /** Share of the run's steps trained before self-critical training starts (0 = from the first step). */
  selfCriticalFrom: finite.min(0).lt(1).optional(),
  /** Decoupled weight decay (AdamW-style; ml/optim.ts). */
  weightDecay: finite.min(0).max(100).optional(),
  /** Train on random S×S windows of the cached feature maps (cells; 0 = whole maps). */
  cropFeatures: z.number().int().min(0).max(1000).optional(),
  /** Show training photos mirrored with probability ½ (their maps are extracted once and cached). */
  flipPhotos: z.boolean().optional(),
  /** Exponential moving average of the weights (decay per step; 0 = off): the run's model is the average. */
  averageWeights: finite.min(0).max(0.9999).optional(),
  warmStart: runId.optional(),
  /** Minutes between resume checkpoints within an epoch (one is also written at every epoch end). */
  checkpointMinutes: finite.positive().max(24 * 60).optional(),
  workers,
});
export type TrainRequest = z.infer<typeof trainRequest>;

/** Continue a cancelled or interrupted run from its checkpoint (optionally with a new epoch count). */
export const resumeRequest = z.strictObject({ runId, epochs: epochs.optional(), workers });
export type ResumeRequest = z.infer<typeof resumeRequest>;

export type TrainOutcome = TrainResult & {
  scored?: number;
  /** cam trained in two stages: the medi run it was fine-tuned from (trained by the same request). */
  base_run?: string;
};

/**
 * Trains a new run or resumes one in the training worker, reporting live detail (step, epoch k of
 * N, losses, pairs/s, ETA, per-epoch validation), then (in the same worker) scores the collection
 * with the finished run so the review queue, suggestions and confusion cells follow it. Every
 * shell trains through this one function.
 */
export async function train(ctx: OpContext, req: TrainRequest | { resume: ResumeRequest }, io: JobIo): Promise<TrainOutcome> {
  if ('resume' in req) return resumeThenCam(ctx, req.resume, io);
  const stage = camStage(req);
  if (!stage) return trainOnce(ctx, req, io);
  io.emit({ type: 'stage', message: 'cam in two runs: medi first, then its fine-tune with L_cam (an estimate of both, then each run prints its own)' });
  // the worker count is how this session computes, not part of what the medi run keeps for later
  const camRequest: TrainRequest = { ...req, ...stage, workers: undefined };
  const base = await trainOnce(ctx, { ...req, variant: 'medi' }, io, { scoreCollection: false, camRequest });
  return camAfter(ctx, base, { ...camRequest, workers: req.workers }, io);
}

/**
 * The fine-tune that makes a cam run when the recipe trains cam on top of medi (config.ts
 * CAM_FINE_TUNE): a new cam run that continues nothing and sets no λ schedule of its own. Null:
 * train the request as it is.
 */
function camStage(req: TrainRequest): Partial<TrainRequest> | null {
  if (req.variant !== 'cam' || req.warmStart || req.lambdaWarmup !== undefined || req.lambdaRamp !== undefined) return null;
  return camFineTune(recipeNamed(req.recipe), req);
}

/** cam's stage once its medi run is done; a medi run that was cancelled or failed is the outcome. */
async function camAfter(ctx: OpContext, base: TrainOutcome, camRequest: TrainRequest, io: JobIo): Promise<TrainOutcome> {
  if (base.status !== 'done') return base;
  const cam = await trainOnce(ctx, { ...camRequest, warmStart: base.run }, io);
  return { ...cam, base_run: base.run };
}

/**
 * A resumed run; a medi run that was the first stage of a cam request goes on to that cam
 * fine-tune once it is done, so cancelling during the medi stage loses nothing of the request.
 */
async function resumeThenCam(ctx: OpContext, resume: ResumeRequest, io: JobIo): Promise<TrainOutcome> {
  const pending = pendingCamStage(ctx, resume.runId);
  const base = await trainOnce(ctx, { resume }, io, { scoreCollection: !pending });
  return pending ? camAfter(ctx, base, { ...pending, workers: resume.workers }, io) : base;
}

/** The cam request a medi run keeps in its config (`camRequest`); null for other runs and for a record that is not a valid cam request. */
function pendingCamStage(ctx: OpContext, runId: string): TrainRequest | null {
  const stored = getRun(ctx.db, runId)?.config.camRequest;
  if (stored === undefined) return null;
  const parsed = trainRequest.safeParse(stored);
  return parsed.success && parsed.data.variant === 'cam' ? parsed.data : null;
}

async function trainOnce(
  ctx: OpContext,
  req: TrainRequest | { resume: ResumeRequest },
  io: JobIo,
  o: { scoreCollection?: boolean; camRequest?: TrainRequest } = {},
): Promise<TrainOutcome> {
  const resume = 'resume' in req ? req.resume : undefined;
  const scoreCollection = o.scoreCollection ?? true;
  const config: Partial<TrainConfig> & { variant: TrainConfig['variant'] } = resume
    ? { variant: resumedVariant(ctx, resume.runId), ...(resume.epochs ? { epochs: resume.epochs } : {}) }
    : { ...configOf(req as TrainRequest), ...(o.camRequest ? { camRequest: { ...o.camRequest } } : {}) };
  const threads = resume ? resume.workers : (req as TrainRequest).workers;
  const { startTrainingWorker, SCORING_FAILED } = await import('../../jobs/train/loop.ts');
  let run = resume?.runId;
  const claim = (r: string) => {
    if (run && run !== r) return;
    run = r;
    ctx.activeRuns.add(r);
  };
  if (run) claim(run);
  const tracker = new TrainTracker(io, claim, (r) => storedHistory(ctx, r));
  try {
    // the worker also scores the collection with the finished run: TF.js and the backend are loaded there already
    const handle = await startTrainingWorker(
      { home: ctx.ws.home, config, workers: threads, scoreCollection, ...(resume ? { resume: resume.runId } : {}) },
      (e) => tracker.onEvent(e),
    );
    const result = await cancelOnAbort(io.signal, () => handle.cancel(), handle.result);
    ctx.backendUsed(result.backend_version ? `${result.backend} — ${result.backend_version}` : result.backend);
    if (result.status === 'failed') throw new PlumageError('unavailable', result.error ?? 'training failed');
    if (result.scored !== undefined) ctx.imagesChanged([]);
    // a failed scoring pass is a warning on a finished run, not a failed training
    const scoringFailed = result.warnings.find((w) => w.startsWith(SCORING_FAILED));
    if (scoringFailed) io.emit({ type: 'warning', message: scoringFailed });
    return result;
  } finally {
    if (run) ctx.activeRuns.delete(run);
  }
}

/** The epochs a run already has on record (a resumed run's earlier ones), in the live detail's shape. */
function storedHistory(ctx: OpContext, runId: string): NonNullable<JobDetail['history']> {
  const numbers = (o: unknown) =>
    Object.fromEntries(Object.entries(o && typeof o === 'object' ? o : {}).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  return (getRun(ctx.db, runId)?.epochs ?? []).map((e) => {
    const { top1 = null, top5 = null, captionLoss = null, score = null } = numbers(e.val);
    return { epoch: Number(e.epoch), losses: numbers(e.loss), val: { top1, top5, captionLoss, score } };
  });
}

function resumedVariant(ctx: OpContext, runId: string): TrainConfig['variant'] {
  const row = ctx.db.prepare('SELECT variant FROM runs WHERE id = ?').get(runId) as { variant: TrainConfig['variant'] } | undefined;
  if (!row) throw notFound(`no run '${runId}'`);
  return row.variant;
}

/** The trainer's config for a request: the options given, the recipe's for the rest. */
export function configOf(req: TrainRequest): Partial<TrainConfig> & { variant: TrainConfig['variant'] } {
  return requestSettings(req);
}

/** Turns the trainer's events into job progress with live detail (and passes them on as they are). */
class TrainTracker {
  readonly detail: JobDetail = { phase: 'train', history: [] };
  private done = 0;
  private total = 0;

  constructor(
    private readonly io: JobIo,
    private readonly claim: (run: string) => void,
    /** The run's epochs already on record, so a resumed run's curves start at its first epoch. */
    private readonly earlierEpochs: (run: string) => NonNullable<JobDetail['history']>,
  ) {}

  onEvent(e: TrainEvent): void {
    this.io.emit({ type: 'train', event: e });
    const d = this.detail;
    d.phase = e.phase;
    if (e.type === 'log') return this.progress(e.message);
    if (e.type === 'progress')
      return this.progress(e.phase === 'predict' ? 'scoring the collection with the new run' : 'extracting features', e.done, e.total);
    this.claim(e.run);
    d.run = e.run;
    d.epochs = e.epochs;
    if (e.type === 'start') {
      d.history = this.earlierEpochs(e.run);
      return this.progress(undefined);
    }
    d.epoch = e.epoch;
    if (e.type === 'step') {
      this.done = d.step = e.globalStep;
      this.total = d.totalSteps = e.totalSteps;
      Object.assign(d, { losses: e.losses, pairsPerSec: e.pairsPerSec, etaSec: e.etaSec });
      this.progress(`run ${e.run}`);
    } else {
      const { top1, top5, captionLoss, score } = e.val;
      // epochs count from 0 in the history (as the trainer does); people count from 1
      d.history = [...(d.history ?? []), { epoch: e.epoch, losses: { ...e.losses }, val: { top1, top5, captionLoss, score } }];
      this.progress(`epoch ${e.epoch + 1} of ${e.epochs}`);
    }
  }

  private progress(message: string | null | undefined, done = this.done, total = this.total) {
    this.io.emit({ type: 'progress', done, total, message, detail: { ...this.detail } });
  }
}
