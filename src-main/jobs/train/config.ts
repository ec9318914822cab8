/** Training configuration: the options of a run, their defaults and the model-size presets. */
import { PART_SIGMA } from '../../data/masks.ts';
import type { CamTarget } from '../../ml/algorithm1.ts';
import type { RepeatUnit } from '../../ml/unlikelihood.ts';
import type { Variant } from '../../ml/model.ts';
import type { Selection } from './validation.ts';

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
  /** Epochs with λ = 0 before L_cam starts (train/lambda-schedule.ts; 0 = from the first step). */
  lambdaWarmup: number;
  /** Epochs over which λ rises linearly to its value after the warm-up (0 = at once). */
  lambdaRamp: number;
  mu: number;
  /**
   * Which Grad-CAMs L_cam moves (ml/algorithm1.ts): 'both' as the paper's eq. 6, 'class' holds
   * the classifier's as a fixed target (L_cam then only pulls the captioner's CAMs towards them,
   * so it cannot drag the classifier's), 'caption' the reverse.
   */
  camTarget: CamTarget;
  /** Weight of L_class in the objective (1 = the contract's sum). */
  classWeight: number;
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
  /**
   * Best checkpoint by validation caption loss (the default), or by validation CIDEr-D of the
   * greedy captions ('cider') or of the product decoding's ('product'; validation.ts).
   */
  select: Selection;
  /** Gradient clipping by global norm per module (0 = off). */
  clip: number;
  /** Learning-rate schedule over all steps: constant (the paper's) or cosine decay to 0. */
  schedule: 'constant' | 'cosine';
  /** Every (image, caption) pair once per epoch instead of one random caption per image (sampling.ts). */
  allCaptions: boolean;
  /**
   * With allCaptions: the fewest passes over every training photo a new run makes; the epoch count
   * grows to reach it where photos have few captions (sampling.ts epochBudget; 0 = epochs as given).
   */
  minPhotoPasses: number;
  /** Dropout rate on the captioner's word embeddings and LSTM outputs while training (0 = off; inference never drops). */
  dropout: number;
  /** Label smoothing ε of L_class: the target is (1 − ε)·one-hot + ε/C (0 = off). */
  classSmoothing: number;
  /**
   * Dropout rate on the shared layer's output h where it is the classifier's input, inside L_class
   * only, while training (medi/cam; cnn has no shared layer and is unaffected; 0 = off; inverted,
   * seeded by the run's seed and the global step). L_caption and L_cam see the undropped h;
   * inference never drops.
   */
  classDropout: number;
  /** The classifier's (cls.*) learning rate as a multiple of `lr` (1 = the same; ml/optim.ts lrScale). */
  classLrScale: number;
  /** Label smoothing ε of L_caption: each target word (1 − ε)·one-hot + ε/V (0 = off). */
  captionSmoothing: number;
  /**
   * Weight α of token-level unlikelihood in L_caption (ml/unlikelihood.ts): words that would repeat
   * what a caption already wrote, other than the one due next, are pushed down by α·(−log(1 − p)) (0 = off).
   */
  unlikelihood: number;
  /** What counts as a repeat for `unlikelihood`: any earlier word, or the continuation of an earlier bigram. */
  unlikelihoodOf: RepeatUnit;
  /**
   * Share ρ of L_caption's input words replaced by the captioner's own greedy guess at that
   * position (ml/scheduled-sampling.ts: it trains on its own slips, as greedy decoding meets them; 0 = off).
   */
  scheduledSampling: number;
  /**
   * Weight α of sequence-level unlikelihood in L_caption (ml/unlikelihood.ts): each word of the
   * captioner's own greedy caption of a training photo that repeats a bigram it already wrote is
   * pushed down by α·(−log(1 − p)) (0 = off).
   */
  loopUnlikelihood: number;
  /**
   * Weight β of self-critical training in L_caption (ml/self-critical.ts): the captioner samples
   * a caption of each training photo, whose log-probability is raised by how far its CIDEr-D
   * against the photo's references beats the greedy caption's, lowered where it falls short (0 = off).
   */
  selfCritical: number;
  /**
   * Captions self-critical training samples per photo: 1 takes the greedy caption as each
   * sample's baseline; k ≥ 2 takes the mean CIDEr-D of the photo's other samples instead.
   */
  selfCriticalSamples: number;
  /**
   * Share of the run's steps trained before self-critical training starts (0 = from the first
   * step): the term then refines a captioner that cross-entropy has already taught to describe,
   * instead of rewarding the samples of one that still writes noise.
   */
  selfCriticalFrom: number;
  /** Decoupled (AdamW-style) weight decay of the weight matrices and embeddings (ml/optim.ts; 0 = off). */
  weightDecay: number;
  /** Train on a random S×S window of each image's cached feature map per step (augment.ts; 0 = the whole map). */
  cropFeatures: number;
  /**
   * Show each training photo mirrored left–right with probability ½ per step: the encoder's maps
   * of the mirrored photos are extracted once and cached (train/features.ts, augment.ts).
   */
  flipPhotos: boolean;
  /**
   * Exponential moving average of the weights, its decay per step (0 = off): validation, the best
   * checkpoint and so the run's model are the average, training goes on from the weights trained.
   * The average starts at the run's first weights (a warm start's: then it mixes the parent's
   * weights with the new ones). Kept in the optimizer state, so a resumed run averages on exactly.
   */
  averageWeights: number;
  warmStart?: string;
  /**
   * A medi run trained as the first stage of a cam request keeps that request here (opaque to the
   * trainer): the api trains it as cam's fine-tune once this run is done, after a resume too.
   */
  camRequest?: Record<string, unknown>;
  /**
   * The resume checkpoint is written at every epoch end and, within an epoch, at least every this
   * many minutes, so a killed process loses at most that much training.
   */
  checkpointMinutes: number;
}

export const DEFAULT_CONFIG: Omit<TrainConfig, 'variant'> = {
  epochs: 30,
  batch: 128,
  lr: 0.1,
  optimizer: 'sgd',
  lambda: 1,
  lambdaWarmup: 0,
  lambdaRamp: 0,
  mu: 0,
  camTarget: 'both',
  classWeight: 1,
  partMasks: false,
  partSigma: PART_SIGMA,
  seed: 1,
  dims: 'paper',
  split: 'default',
  maxLen: 20,
  minCount: 1,
  patience: 5,
  select: 'loss',
  clip: 0,
  schedule: 'constant',
  allCaptions: false,
  minPhotoPasses: 0,
  dropout: 0,
  classSmoothing: 0,
  classDropout: 0,
  classLrScale: 1,
  captionSmoothing: 0,
  unlikelihood: 0,
  unlikelihoodOf: 'words',
  scheduledSampling: 0,
  loopUnlikelihood: 0,
  selfCritical: 0,
  selfCriticalSamples: 1,
  selfCriticalFrom: 0,
  weightDecay: 0,
  cropFeatures: 0,
  flipPhotos: false,
  averageWeights: 0,
  checkpointMinutes: 5,
};

/**
 * Named recipes. `standard` is what every front door trains with when nothing is chosen (plumage
 * train, the app's Train/Retrain, the demo, plumage experiment): small widths, Adam, every caption
 * of a photo per epoch, best epoch by validation top-1 + CIDEr-D, label smoothing 0.1 — the
 * settings that measured best on real CUB photos (docs/training.md, "Training levers for real
 * photos"), minutes on 2 cores. Its budget is 4 epochs of every caption but at least 15 passes
 * over every photo, so a collection with one caption per photo gets the 15 passes the old
 * one-caption default had. Dropout 0.5 on the classifier's input: over twelve seeds on the real
 * CUB photos it lifts both captioners' CIDEr by about one sd and cam's top-1 towards cnn's, ties
 * the default without it on synthetic birds and the offline demo's data, and leaves no more
 * species heat maps empty. Unlikelihood of repeated bigrams, in the references' prefixes (α 10)
 * and in the captioner's own greedy captions (α 3): small captioners trained on few real photos
 * loop ("a white and a and a"); over twelve seeds on the real CUB photos both captioners' CIDEr
 * rises clearly with either decoding and cam's top-1 holds, at the cost of a tenth of the beam
 * captions' CIDEr on the template-written synthetic captions and about 60 % more time per step.
 * `paper` is the paper's setting (paper widths, SGD 0.1, batch 128),
 * hours on the wasm backend. Options given explicitly override the recipe's.
 */
export type RecipeName = 'standard' | 'paper';
export const DEFAULT_RECIPE: RecipeName = 'standard';
export const RECIPES: Record<RecipeName, Partial<TrainConfig>> = {
  standard: {
    dims: 'small',
    optimizer: 'adam',
    lr: 0.002,
    batch: 32,
    clip: 2,
    allCaptions: true,
    epochs: 4,
    minPhotoPasses: 15,
    patience: 4,
    select: 'cider',
    classSmoothing: 0.1,
    captionSmoothing: 0.1,
    classDropout: 0.5,
    unlikelihood: 10,
    unlikelihoodOf: 'bigrams',
    loopUnlikelihood: 3,
  },
  paper: { dims: 'paper', optimizer: 'sgd', lr: 0.1, batch: 128, clip: 0, epochs: 30, patience: 5 },
};

/** Earlier names still accepted: `fast` (the one-caption default before `standard`) and `practical` (the experiment's name for it). */
export const RECIPE_ALIASES: Record<string, RecipeName> = { fast: 'standard', practical: 'standard' };
export const RECIPE_CHOICES = [...Object.keys(RECIPES), ...Object.keys(RECIPE_ALIASES)] as [string, ...string[]];

/** The recipe a name (or alias) stands for; undefined = the default. */
export function recipeNamed(name: string | undefined): RecipeName {
  if (name === undefined) return DEFAULT_RECIPE;
  if (name in RECIPES) return name as RecipeName;
  const alias = RECIPE_ALIASES[name];
  if (!alias) throw new Error(`unknown recipe '${name}'`);
  return alias;
}

/**
 * How a recipe trains cam when it does not continue an earlier run: null = like every other
 * variant (λ from the first step); otherwise medi first, then cam fine-tuned from that medi run
 * with these settings. L_cam compares Grad-CAMs, which are noise while the heads are random, so
 * cam starts from a trained medi: a short fine-tune at half the rate. λ 0.03: at λ 0.1 the
 * gradient of λ·L_cam on f_medi is already about twice that of the other two losses, and Adam
 * scales each weight's step by its gradient's size, so f_medi followed L_cam at the cost of the
 * product's captions; seed by seed over twelve seeds, λ 0.03 gives cam a higher top-1 and product
 * CIDEr on the real CUB photos than λ 0.1 and still raises CAM agreement clearly above medi's
 * (docs/training.md, rows 77–80). The same settings are a warm-started Retrain's
 * (api/insights.ts), with at least 5 photo passes.
 */
export const CAM_FINE_TUNE: Record<RecipeName, Partial<TrainConfig> | null> = {
  standard: { lr: 0.001, epochs: 1, minPhotoPasses: 5, lambda: 0.03 },
  paper: null,
};

/**
 * cam's fine-tune of medi under a recipe, given the request's explicit options (null: the recipe
 * trains cam like the other variants). An explicit λ wins; an explicit rate is scaled as the
 * recipe scales its own (half); everything else given applies to both stages.
 */
export function camFineTune(name: RecipeName, explicit: Partial<TrainConfig>): Partial<TrainConfig> | null {
  const ft = CAM_FINE_TUNE[name];
  if (!ft) return null;
  const own = RECIPES[name].lr;
  const lr = explicit.lr !== undefined && ft.lr !== undefined && own ? explicit.lr * (ft.lr / own) : ft.lr;
  return { ...ft, lr, ...(explicit.lambda !== undefined ? { lambda: explicit.lambda } : {}) };
}

/**
 * The recipe's settings with every explicitly given (defined) option on top. An explicit epoch
 * count is the budget: the recipe's photo-pass floor then applies only if also given.
 */
export function withRecipe<C extends Partial<TrainConfig>>(name: RecipeName, explicit: C): C {
  const given = Object.fromEntries(Object.entries(explicit).filter(([, v]) => v !== undefined)) as Partial<TrainConfig>;
  const floor = given.epochs !== undefined && given.minPhotoPasses === undefined ? { minPhotoPasses: 0 } : {};
  return { ...RECIPES[name], ...floor, ...given } as C;
}

/**
 * The trainer's settings for a request (a TrainRequest of the api: options given, a recipe name,
 * maybe a worker count): the recipe's settings with the options given on top, as a new run's
 * config. What the api trains for it, and what the first stage of a cam request uses to estimate
 * the second (loop.ts).
 */
export function requestSettings(req: Record<string, unknown>): Partial<TrainConfig> & { variant: Variant } {
  // the worker count is how a session computes, not part of the run
  const given = { ...req, recipe: undefined, workers: undefined } as unknown as Partial<TrainConfig> & { variant: Variant };
  return withRecipe(recipeNamed(req.recipe as string | undefined), given);
}

/** D, E, Hd per preset: the paper's sizes, a demo size for 2 cores, a test size. */
export const DIMS: Record<DimsPreset, { D: number; E: number; Hd: number }> = {
  paper: { D: 1024, E: 512, Hd: 1024 },
  medium: { D: 256, E: 128, Hd: 256 },
  small: { D: 128, E: 64, Hd: 128 },
  tiny: { D: 16, E: 8, Hd: 16 },
};

/** A new run's configuration: the defaults, overridden by every option that was given. */
export function newRunConfig(given: Partial<TrainConfig> & { variant: Variant }): TrainConfig {
  const set = Object.entries(given).filter(([, v]) => v !== undefined);
  return { ...DEFAULT_CONFIG, ...Object.fromEntries(set) } as TrainConfig;
}
