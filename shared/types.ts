/**
 * Data types shared by the main process (api) and the renderer. Plain JSON-serialisable shapes:
 * they cross Electron IPC and the browser-mode WebSocket unchanged.
 */

export type ReviewStatus = 'unreviewed' | 'accepted' | 'fixed' | 'rejected';
/** Whether the photo's file still holds the imported bytes ('changed': replaced or damaged since). */
export type FileStatus = 'ok' | 'changed' | 'missing';
export type Variant = 'cnn' | 'lrcn' | 'medi' | 'cam';
/** 'interrupted': the training process died (killed, crashed, power cut); resumable from its checkpoint. */
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface Collection {
  id: number;
  name: string;
  root: string;
  kind: string;
  images: number;
}

export interface ClassInfo {
  id: number;
  collectionId: number;
  /** The raw id the data came with ("001.Black_footed_Albatross"); never changes. */
  name: string;
  /** The curator's own name for the species (Species manager); null: derived from `name`. */
  displayName: string | null;
  count: number;
}

/** One gallery tile: enough to draw the grid without another round trip. */
export interface ImageSummary {
  id: number;
  collectionId: number;
  fileName: string;
  relPath: string;
  width: number;
  height: number;
  classId: number | null;
  className: string | null;
  labelProvenance: string | null;
  split: string | null;
  reviewStatus: ReviewStatus;
  /** Set when the image routes or a re-import find the file changed or gone. */
  fileStatus: FileStatus;
  /** First accepted caption, for the tile tooltip and search results. */
  caption: string | null;
  /** 1 − cos(classifier CAM, captioner CAM) of the latest run, when known. */
  disagreement: number | null;
}

export interface CaptionRevision {
  text: string;
  provenance: string;
  at: string;
}

export interface Caption {
  id: number;
  ord: number;
  text: string;
  provenance: string;
  accepted: boolean;
  revisions: CaptionRevision[];
}

export interface ImageDetail extends ImageSummary {
  takenAt: string | null;
  gps: { lat: number; lon: number } | null;
  captions: Caption[];
  labelHistory: { classId: number | null; className: string | null; provenance: string; at: string }[];
  /** Model suggestions (top-5 species) from the latest run, when one exists. */
  suggestions: { classId: number; className: string; p: number }[];
}

export interface ImageQuery {
  collectionId?: number;
  classId?: number;
  split?: string;
  /** 'imported' | 'human' | 'model' (any model run). */
  provenance?: string;
  reviewStatus?: ReviewStatus;
  fileStatus?: FileStatus;
  /** Full-text search over captions (FTS5 syntax, words are ANDed). */
  search?: string;
  /** Only these photos (a confusion-matrix cell's), with the other filters applied to them. */
  ids?: number[];
  /** Review-queue orders: most disputed, least confident, least likely caption first (latest done run's predictions). */
  sort?: 'path' | 'disagreement' | 'confidence' | 'likelihood';
  offset?: number;
  limit?: number;
}

export interface ImagePage {
  total: number;
  offset: number;
  items: ImageSummary[];
}

export interface RunSummary {
  id: string;
  /** The name given in Retrain's settings; null for an unnamed run. */
  name: string | null;
  createdAt: string;
  variant: Variant;
  encoder: string;
  backend: string;
  status: RunStatus;
  metrics: Record<string, number> | null;
  epochs: { epoch: number; [loss: string]: number }[];
  warnings: string[];
}

export type JobKind = 'import' | 'extract' | 'train' | 'evaluate' | 'caption' | 'predict';

/** What every job reports, whatever its kind. */
interface JobInfoCommon {
  id: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  label: string;
  done: number;
  total: number;
  /** Seconds left, from measured speed. */
  eta: number | null;
  message: string | null;
  /** Kind-specific live detail (training: step, epoch k of N, losses, pairs/s, ETA). */
  detail?: JobDetail;
}

/** A finished training (the train operation's outcome: the run, then how many photos it scored). */
export interface TrainJobResult {
  run: string;
  variant: Variant;
  status: 'done' | 'cancelled' | 'failed';
  epochs_run: number;
  best_epoch: number;
  /** Photos the new run scored (absent when scoring failed: see warnings). */
  scored?: number;
  warnings: string[];
}

/** A scoring pass: photos of the collection scored by the run. */
export interface PredictJobResult {
  run: string;
  images: number;
  skipped: number;
  seconds: number;
}

/** A finished evaluation: the headline metrics (the full ones stay with the run) and the scoring after it. */
export interface EvaluateJobResult {
  metrics: Record<string, number | string | null>;
  scored: PredictJobResult;
}

/** A finished batch captioning: its summary (the rows stay in the batch tables: batch:results). */
export interface CaptionJobResult {
  /** The batch the rows were written to. */
  job: number;
  run: string;
  folder: string;
  files: number;
  captioned: number;
  skipped_done: number;
  /** Every file skipped and every folder entry that could not be listed, with its reason. */
  errors: { path: string; reason: string }[];
  status: 'done' | 'cancelled';
}

/** What a finished job holds in `result`, per kind. No api channel starts an extraction on its own. */
export interface JobResults {
  import: ImportReport;
  extract: unknown;
  train: TrainJobResult;
  evaluate: EvaluateJobResult;
  caption: CaptionJobResult;
  predict: PredictJobResult;
}

/** One job of a kind, with that kind's result (null until it finishes, and after a failure). */
export type JobInfoOf<K extends JobKind> = JobInfoCommon & { kind: K; result: JobResults[K] | null };

/** A job, discriminated by `kind`: narrowing on it types `result`. */
export type JobInfo = { [K in JobKind]: JobInfoOf<K> }[JobKind];

/** The mean training losses of a step or an epoch (each term as logged; total = the sum). */
export interface TrainLosses {
  class: number;
  caption: number;
  cam: number;
  mask: number;
  total: number;
}

/** Scores of a split during training: top-1/top-5 (null without a classifier), caption loss (null without a captioner). */
export interface SplitScores {
  top1: number | null;
  top5: number | null;
  captionLoss: number | null;
  /** CIDEr-D of the validation captions (greedy, or the product decoding's) against all references (only when model selection uses it). */
  cider?: number | null;
}

/** Validation after an epoch: the validation split's scores and the model-selection score. */
export interface TrainValidation extends SplitScores {
  score: number;
}

/**
 * What the training job reports while it runs. Every event names its phase: a training job first
 * extracts the features it lacks ('extract'), then trains ('train'). Epochs count from 0.
 */
export type TrainEvent =
  | { type: 'log'; phase: 'extract' | 'train'; message: string }
  /** Features extracted before training, or photos scored with the finished run after it. */
  | { type: 'progress'; phase: 'extract' | 'predict'; done: number; total: number }
  | {
      type: 'start';
      phase: 'train';
      run: string;
      epochs: number;
      steps: number;
      totalSteps: number;
      /** Rough duration of the remaining steps (jobs/train/estimate.ts), before any step ran. */
      estimateSec?: number;
      /**
       * The first stage of a two-stage command (medi for `train --variant cam`): the run the same
       * command trains next and its rough duration, so the whole command can be estimated up front.
       */
      nextStage?: { variant: 'cnn' | 'lrcn' | 'medi' | 'cam'; estimateSec: number };
    }
  | {
      type: 'step';
      phase: 'train';
      run: string;
      epoch: number;
      epochs: number;
      step: number;
      steps: number;
      globalStep: number;
      totalSteps: number;
      losses: TrainLosses;
      pairsPerSec: number;
      /** Seconds left at the measured speed (absent before the speed is known). */
      etaSec?: number;
    }
  | { type: 'epoch'; phase: 'train'; run: string; epoch: number; epochs: number; losses: TrainLosses; val: TrainValidation };

/** Live training progress carried by job:progress pushes of a 'train' job. */
export interface JobDetail {
  run?: string;
  phase?: 'extract' | 'train' | 'predict' | 'evaluate' | 'caption';
  step?: number;
  totalSteps?: number;
  epoch?: number;
  epochs?: number;
  losses?: TrainLosses;
  pairsPerSec?: number;
  etaSec?: number;
  /** Validation results of the epochs finished so far (live curves). */
  history?: { epoch: number; losses?: Record<string, number>; val?: Record<string, number | null> }[];
}

export interface ImportReport {
  images: number;
  classes: number;
  captions: number;
  added: number;
  errors: { path: string; reason: string }[];
}

// ---- heat maps, masks, review queue, runs dashboard, batch-caption review ---------------

/** Grad-CAMs of one image by one run, each a row-major H×W map normalised to [0,1]. */
export interface CamsView {
  runId: string;
  H: number;
  W: number;
  /** classifier CAM of the predicted class (empty for lrcn runs) */
  cls: number[];
  /** captioner CAM of the model's caption (empty for cnn runs) */
  cap: number[];
  /** |cls − cap| (empty unless both exist) */
  disagreement: number[];
  /** the model caption's words; cams:word takes an index into this list */
  words: string[];
  predClass: string | null;
  caption: string | null;
}

export interface WordCamView {
  runId: string;
  H: number;
  W: number;
  word: string;
  cam: number[];
}

export interface MaskData {
  width: number;
  height: number;
  /** 8-bit grey PNG (255 = should matter), base64 */
  png: string;
}

/** The headline test metrics, in table order (null where the run's variant has no such head). */
export const HEADLINE_METRICS = [
  'top1',
  'top5',
  'bleu1',
  'bleu2',
  'bleu3',
  'bleu4',
  'meteor',
  'rougeL',
  'cider',
  'cam_agreement',
] as const;
export type HeadlineMetrics = Record<(typeof HEADLINE_METRICS)[number], number | null>;

/** Top-1 accuracy of one class on the evaluated split part. */
export interface PerClassAccuracy {
  class_id: number;
  name: string;
  n: number;
  correct: number;
  top1: number;
}

/** One of the worst-captioned test images (lowest CIDEr-D). */
export interface WorstCaption {
  image_id: number;
  file: string;
  candidate: string;
  references: string[];
  cider: number;
  meteor: number;
}

export interface CamExample {
  image_id: number;
  file: string;
  path: string | null;
  true_class: string | null;
  pred_class: string | null;
  caption: string | null;
  /** [H][W] classifier CAM of the predicted class and captioner CAM of the generated caption. */
  cam_cls: number[][] | null;
  cam_cap: number[][] | null;
  /** Peak of the classifier CAM in image pixels and whether it hit the part region. */
  peak: [number, number] | null;
  hit: boolean | null;
}

/** Rows: true class, columns: predicted class, both in `classes` order. */
export interface ConfusionMatrix {
  classes: string[];
  matrix: number[][];
}

/** Caption metrics of a set of candidates against their references (docs/design.md: Metrics). */
export interface CaptionScores {
  bleu1: number;
  bleu2: number;
  bleu3: number;
  bleu4: number;
  meteor: number;
  rougeL: number;
  cider: number;
}

/** How much a set of generated captions repeats itself. */
export interface RepetitionScores {
  /** Captions with a repeated word bigram / all captions (0 for an empty set). */
  repeated_bigram_share: number;
  /** Distinct bigrams / bigrams over all captions (0 when there are none). */
  distinct2: number;
}

/** Caption metrics of the product's decoding (beam search with repetition blocking and the contrastive ranking). */
export interface ProductCaptionMetrics extends CaptionScores, RepetitionScores {
  /** The decoding's settings in words ("beam 3, α 1, no repeated 2-grams, contrast 0.3"). */
  decode: string;
}

/** A run's full evaluation, as stored in the run's metrics by `plumage eval` / eval:start. */
export interface EvalResult extends HeadlineMetrics {
  run: string;
  variant: Variant;
  pointing: number | null;
  /**
   * Share of the classification test photos whose species heat map (Grad-CAM of the predicted
   * class) is all zero: nothing in the photo counts for the guess (null without a classifier;
   * absent in older evaluations).
   */
  empty_cls_cam?: number | null;
  /** The headline caption metrics are of the contract's greedy decoding (the paper metric). */
  decode: 'greedy';
  /** Repetition of the greedy captions (null without a captioner; absent in older evaluations). */
  repeated_bigram_share?: number | null;
  distinct2?: number | null;
  /** The caption metrics of the product decoding (null without a captioner; absent in older evaluations). */
  product?: ProductCaptionMetrics | null;
  split: { scheme: string; part: string };
  /** Where the caption metrics come from (the paper protocol holds out caption classes). */
  caption_split: { scheme: string; part: string };
  n_images: number;
  n_captioned: number;
  n_pointing: number;
  per_class: PerClassAccuracy[];
  confusion: ConfusionMatrix | null;
  worst: WorstCaption[];
  cam_examples: CamExample[];
  evaluated_at: string;
}

export interface RunDetail extends RunSummary {
  collectionId: number | null;
  config: Record<string, unknown>;
  parentRun: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  timings: Record<string, unknown> | null;
  checkpoint: string | null;
  error: string | null;
  /** The run's full evaluation, once it has been evaluated (null before, or for metrics of another shape). */
  evaluation: EvalResult | null;
  /** How many images the run has scored for the review queue. */
  predictions: number;
}

/** A column of the paper's Table 2: the metric, its header, shown in % or not, the variant it is compared with. */
export interface Table2Column {
  key: keyof HeadlineMetrics;
  label: string;
  pct: boolean;
  baseline: 'cnn' | 'lrcn';
}

/** A run's row of Table 2, in column order. */
export interface Table2Row {
  run: string;
  variant: string;
  values: (number | null)[];
  /** Relative improvement over the column's baseline run, (x − b) / b; null where undefined. */
  relative: (number | null)[];
}

/** The runs Table 2 compares with: the first cnn run (classification) and the first lrcn run (captions). */
export interface Table2Baselines {
  cnn: string | null;
  lrcn: string | null;
}

/** Table 2 over chosen runs (`runs:compare`, the same table as `plumage report`). */
export interface RunComparison {
  columns: Table2Column[];
  rows: Table2Row[];
  baselines: Table2Baselines;
}

export interface ResumableRun {
  id: string;
  variant: Variant;
  status: RunStatus;
  createdAt: string;
  epoch: number;
  epochs: number;
  globalStep: number;
}

export type BatchReview = 'pending' | 'accepted' | 'edited' | 'rejected';

export interface BatchJobInfo {
  id: number;
  folder: string;
  runId: string;
  status: RunStatus;
  createdAt: string;
  finishedAt: string | null;
  results: number;
  errors: number;
  reviewed: number;
  /** Entries of the folder that could not be listed (symbolic link loop, unreadable sub-folder). */
  unreadable: number;
  /** The first of them by path (at most 20), with the reason. */
  unreadableSample: { path: string; reason: string }[];
}

/**
 * What a typed path would give (`paths:check`): `ok` (for a folder, `images` photos were found,
 * `more` = the count stopped early), `relative` (not a full path), `refused` (the file-access
 * policy's `reason`), `missing`, `not-folder` / `not-file` (the other kind), `unreadable` (`reason`:
 * the system's code, e.g. EACCES).
 */
export interface PathCheck {
  status: 'ok' | 'relative' | 'refused' | 'missing' | 'not-folder' | 'not-file' | 'unreadable';
  images: number | null;
  more: boolean;
  reason: string | null;
}

export interface BatchResultItem {
  /** The result's id within its job (its thumbnail is `batch-thumb/<jobId>/<id>`). */
  id: number;
  relPath: string;
  /** the model's caption */
  caption: string | null;
  /** the curator's text when review = 'edited' */
  editedCaption: string | null;
  top5: { class: string; p: number }[];
  review: BatchReview;
  error: string | null;
}
