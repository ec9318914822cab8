/**
 * `plumage experiment`: the paper's comparison on a workspace that already has images and cached
 * features — train every variant with every seed under one recipe, evaluate each run on the test
 * split, and summarise mean ± sd per variant (experiment-table.ts). Within a seed cam is
 * fine-tuned from that seed's medi run when the recipe says so (what Retrain and the demo do):
 * L_cam compares Grad-CAMs, which are noise while the heads are random. With `equalBudget` every
 * other variant is continued from its own run with the same fine-tune settings, so cam and medi
 * differ only by L_cam and not by cam's extra epochs.
 */
import type { Variant } from '../ml/model.ts';
import { invalidRequest, unavailable } from '../util/errors.ts';
import { CAM_FINE_TUNE, DEFAULT_CONFIG, DEFAULT_RECIPE, RECIPE_ALIASES, RECIPES as TRAIN_RECIPES, type TrainConfig } from './train/config.ts';
import { runTraining, type TrainEvent } from './train/loop.ts';
import { evaluateRun, type EvalResult } from './evaluate.ts';
import { EXPERIMENT_METRICS, pairedComparison, summarise, type PairedComparison, type RunMetrics, type VariantSummary } from './experiment-table.ts';

export type ConfigOverrides = Partial<Omit<TrainConfig, 'variant'>>;

export interface Recipe {
  description: string;
  /** Training settings of every variant. */
  train: ConfigOverrides;
  /** cam only: settings of the fine-tune from medi (null: cam trains from scratch like the rest). */
  camFineTune: ConfigOverrides | null;
}

export const RECIPES: Record<string, Recipe> = {
  // What every front door trains when nothing is chosen: plumage train's defaults, cam as medi then
  // its fine-tune (train/config.ts RECIPES.standard, CAM_FINE_TUNE.standard). Every caption of a
  // photo per epoch, selection by validation CIDEr-D, label smoothing 0.1 and dropout on the
  // classifier's input and the unlikelihood of repeated bigrams are the levers that paid on real
  // CUB photos (docs/training.md: Training levers for real photos); λ 0.03 in cam's fine-tune (1
  // at first, then 0.3, then 0.1): a larger λ lets L_cam steer f_medi at the cost of the
  // product's captions (config.ts CAM_FINE_TUNE).
  standard: {
    description:
      "plumage train's default (--recipe standard): dims small, Adam lr 0.002, batch 32, clip 2, every caption per epoch, 4 epochs but at least 15 photo passes, best by validation CIDEr-D, label smoothing 0.1, dropout 0.5 on the classifier's input, unlikelihood of repeated bigrams (α 10 in the references, α 3 in its own greedy captions); cam fine-tuned from medi (lr 0.001, 1 epoch but at least 5 photo passes, λ 0.03)",
    train: TRAIN_RECIPES.standard,
    camFineTune: CAM_FINE_TUNE.standard,
  },
  // The default before `standard`, for comparisons: one random caption per photo per step, 15
  // epochs, selection by validation loss; cam fine-tuned from medi with the same settings (λ 1).
  legacy: {
    description:
      'the default before standard: dims small, Adam lr 0.002, batch 32, clip 2, 15 epochs (patience 4), one random caption per photo per step, best by validation loss; cam fine-tuned from medi with the same settings (λ 1)',
    train: { dims: 'small', optimizer: 'adam', lr: 0.002, batch: 32, clip: 2, epochs: 15, patience: 4 },
    camFineTune: {},
  },
  paper: {
    description: "the paper's: dims paper, SGD lr 0.1, batch 128, 30 epochs; cam from scratch",
    train: TRAIN_RECIPES.paper,
    camFineTune: CAM_FINE_TUNE.paper,
  },
};

/** Earlier names: `fast` and `practical` both meant what is now `standard` for plumage train. */
export const EXPERIMENT_RECIPE_CHOICES = [...Object.keys(RECIPES), ...Object.keys(RECIPE_ALIASES)] as [string, ...string[]];
const recipeOf = (name: string): string => RECIPE_ALIASES[name] ?? name;

export interface ExperimentOptions {
  home: string;
  variants: Variant[];
  seeds: number[];
  recipe?: string;
  /** Applied to every variant after the recipe. */
  set?: ConfigOverrides;
  /** Applied to cam's fine-tune after the recipe. */
  camSet?: ConfigOverrides;
  /**
   * Give every other variant cam's fine-tune too (a continuation of its own run with the same
   * settings; L_cam only exists in cam), so all variants get the same training budget.
   */
  equalBudget?: boolean;
  split?: string;
  collectionId?: number;
  encoder?: string;
  encoderPath?: string;
  onStage?: (s: string) => void;
  onTrainEvent?: (e: TrainEvent) => void;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ExperimentRun {
  variant: Variant;
  seed: number;
  run: string;
  /** The run this one continued (cam: the seed's medi run before any continuation). */
  warm_start: string | null;
  epochs_run: number;
  best_epoch: number;
  train_seconds: number;
  metrics: RunMetrics;
  /** With equalBudget, the run this one continued, as it was before the continuation. */
  before?: { run: string; epochs_run: number; best_epoch: number; metrics: RunMetrics };
}

export interface ExperimentResult {
  recipe: string;
  recipe_description: string;
  set: ConfigOverrides;
  cam_set: ConfigOverrides;
  equal_budget: boolean;
  split: string;
  variants: Variant[];
  seeds: number[];
  runs: ExperimentRun[];
  summary: VariantSummary[];
  /**
   * cam − medi seed by seed (null without both or with one seed). With equalBudget the medi runs
   * are the continued ones, so the differences are L_cam's alone.
   */
  paired: PairedComparison | null;
  seconds: number;
  warnings: string[];
}

/** The experiment's metrics of one evaluation. */
export function runMetrics(ev: EvalResult): RunMetrics {
  const p = ev.product;
  const m: Record<string, number | null> = {
    ...Object.fromEntries(EXPERIMENT_METRICS.map((k) => [k, null])),
    top1: ev.top1,
    top5: ev.top5,
    bleu1: ev.bleu1,
    bleu2: ev.bleu2,
    bleu3: ev.bleu3,
    bleu4: ev.bleu4,
    meteor: ev.meteor,
    rougeL: ev.rougeL,
    cider: ev.cider,
    cam_agreement: ev.cam_agreement,
    repeated_bigram_share: ev.repeated_bigram_share ?? null,
    product_bleu4: p?.bleu4 ?? null,
    product_cider: p?.cider ?? null,
    product_repeated_bigram_share: p?.repeated_bigram_share ?? null,
    product_distinct2: p?.distinct2 ?? null,
    empty_cls_cam: ev.empty_cls_cam ?? null,
  };
  return m as RunMetrics;
}

/**
 * "key=value" settings → training overrides, typed after DEFAULT_CONFIG (numbers, booleans,
 * strings); unknown keys are refused so a typo does not silently run the default.
 */
export function parseOverrides(items: string[]): ConfigOverrides {
  const out: Record<string, unknown> = {};
  const known = DEFAULT_CONFIG as unknown as Record<string, unknown>;
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 1) throw invalidRequest(`--set '${item}': expected key=value`);
    const key = item.slice(0, eq);
    const raw = item.slice(eq + 1);
    if (!(key in known)) throw invalidRequest(`--set: '${key}' is not a training setting (known: ${Object.keys(known).join(', ')})`);
    const kind = typeof known[key];
    if (kind === 'number') {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw invalidRequest(`--set: ${key} needs a number, got '${raw}'`);
      out[key] = n;
    } else if (kind === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw invalidRequest(`--set: ${key} needs true or false, got '${raw}'`);
      out[key] = raw === 'true';
    } else out[key] = raw;
  }
  return out as ConfigOverrides;
}

/** Trains one variant with one seed (a run that did not finish is an error). */
async function trainRun(o: ExperimentOptions, config: Partial<TrainConfig> & { variant: Variant }, warnings: string[]) {
  const res = await runTraining({ home: o.home, config, signal: o.signal, onEvent: o.onTrainEvent });
  for (const w of res.warnings) if (!warnings.includes(w)) warnings.push(w);
  if (res.status !== 'done') throw unavailable(`training ${config.variant} (seed ${config.seed}) ${res.status}${res.error ? `: ${res.error}` : ''}`);
  return res;
}

/** Trains and evaluates one variant with one seed. */
async function trainAndEvaluate(
  o: ExperimentOptions,
  config: Partial<TrainConfig> & { variant: Variant },
  warnings: string[],
): Promise<{ run: string; epochs_run: number; best_epoch: number; seconds: number; metrics: RunMetrics }> {
  const t0 = Date.now();
  const res = await trainRun(o, config, warnings);
  const seconds = (Date.now() - t0) / 1000;
  o.onStage?.(`evaluate ${config.variant} seed ${config.seed} (${res.run})`);
  const ev = await evaluateRun({ home: o.home, runId: res.run, onProgress: o.onProgress });
  return { run: res.run, epochs_run: res.epochs_run, best_epoch: res.best_epoch, seconds, metrics: runMetrics(ev) };
}

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const t0 = Date.now();
  const recipeName = recipeOf(o.recipe ?? DEFAULT_RECIPE);
  const recipe = RECIPES[recipeName];
  if (!recipe) throw invalidRequest(`unknown recipe '${recipeName}' (known: ${Object.keys(RECIPES).join(', ')})`);
  if (!o.variants.length || !o.seeds.length) throw invalidRequest('an experiment needs at least one variant and one seed');
  const split = o.split ?? 'default';
  // an epoch count set by hand is the budget, as with plumage train --epochs (config.ts withRecipe)
  const floor = o.set?.epochs !== undefined && o.set.minPhotoPasses === undefined ? { minPhotoPasses: 0 } : {};
  const common: ConfigOverrides = {
    ...recipe.train,
    ...floor,
    ...o.set,
    split,
    collectionId: o.collectionId,
    encoder: o.encoder,
    encoderPath: o.encoderPath,
  };
  // medi first within a seed, so cam can start from it
  const order = [...o.variants].sort((a, b) => Number(a === 'cam') - Number(b === 'cam'));
  const fineTune = recipe.camFineTune && { ...recipe.camFineTune, ...o.camSet };
  const runs: ExperimentRun[] = [];
  const warnings: string[] = [];
  for (const seed of o.seeds) {
    let mediRun: string | null = null;
    for (const variant of order) {
      if (variant === 'cam' && fineTune !== null && mediRun === null) {
        // cam alone: its medi stage is trained (not reported), as plumage train --variant cam does
        o.onStage?.(`train medi seed ${seed} (cam's first stage)`);
        mediRun = (await trainRun(o, { ...common, variant: 'medi', seed }, warnings)).run;
      }
      const camFromMedi = variant === 'cam' && fineTune !== null && mediRun !== null;
      const config = camFromMedi
        ? { ...common, ...fineTune, variant, seed, warmStart: mediRun! }
        : { ...common, variant, seed };
      o.onStage?.(`train ${variant} seed ${seed}${camFromMedi ? ` (fine-tune of medi ${mediRun})` : ''}`);
      let r = await trainAndEvaluate(o, config, warnings);
      let warmStart = camFromMedi ? mediRun : null;
      let before: ExperimentRun['before'];
      if (variant === 'medi') mediRun = r.run;
      if (o.equalBudget && fineTune && variant !== 'cam') {
        o.onStage?.(`train ${variant} seed ${seed} (continued like cam's fine-tune, from ${r.run})`);
        const more = await trainAndEvaluate(o, { ...common, ...fineTune, variant, seed, warmStart: r.run }, warnings);
        before = { run: r.run, epochs_run: r.epochs_run, best_epoch: r.best_epoch, metrics: r.metrics };
        warmStart = r.run;
        r = { ...more, seconds: r.seconds + more.seconds };
      }
      runs.push({
        variant,
        seed,
        run: r.run,
        warm_start: warmStart,
        epochs_run: r.epochs_run,
        best_epoch: r.best_epoch,
        train_seconds: r.seconds,
        metrics: r.metrics,
        ...(before ? { before } : {}),
      });
    }
  }
  return {
    recipe: recipeName,
    recipe_description: recipe.description,
    set: o.set ?? {},
    cam_set: o.camSet ?? {},
    equal_budget: Boolean(o.equalBudget && fineTune),
    split,
    variants: o.variants,
    seeds: o.seeds,
    runs,
    summary: summarise(runs, o.variants),
    paired: pairedComparison(runs, 'cam', 'medi'),
    seconds: (Date.now() - t0) / 1000,
    warnings,
  };
}
