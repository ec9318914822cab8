/**
 * Plain-language names for what the data calls by raw ids: species ("001.Black_footed_Albatross"
 * → "Black-footed Albatross") and the paper's metric names ("CIDEr" → "Caption quality").
 * The raw id stays in tooltips and exports, so nothing is lost.
 */
import { SvelteMap } from 'svelte/reactivity';
import { derivedSpeciesName } from '../../../shared/species-names.ts';

/**
 * Raw id → the curator's display name, for the species loaded last (the store calls this whenever
 * it reads the species list). Reactive, so every view showing a name follows a rename at once.
 */
const renamed = new SvelteMap<string, string>();

export function useDisplayNames(classes: readonly { name: string; displayName: string | null }[]): void {
  renamed.clear();
  for (const c of classes) if (c.displayName) renamed.set(c.name, c.displayName);
}

/**
 * A species' display name: the curator's own name for it (Species manager) when it has one, else
 * the name derived from its raw id (shared/species-names.ts).
 */
export function speciesName(raw: string | null | undefined): string {
  if (!raw) return '';
  return renamed.get(raw) ?? derivedSpeciesName(raw);
}

/** A metric's plain label and the paper's name for it (shown as a tooltip). */
export interface MetricName {
  label: string;
  paper: string;
}

const METRICS: Record<string, MetricName> = {
  top1: { label: 'Correct species', paper: 'Top-1 accuracy' },
  top5: { label: 'Species in top 5', paper: 'Top-5 accuracy' },
  bleu1: { label: 'Word overlap', paper: 'BLEU-1' },
  bleu2: { label: 'Word-pair overlap', paper: 'BLEU-2' },
  bleu3: { label: 'Three-word overlap', paper: 'BLEU-3' },
  bleu4: { label: 'Phrase overlap', paper: 'BLEU-4' },
  meteor: { label: 'Wording match', paper: 'METEOR' },
  rougeL: { label: 'Sentence overlap', paper: 'ROUGE-L' },
  cider: { label: 'Caption quality', paper: 'CIDEr' },
  cam_agreement: { label: 'Heat-map agreement', paper: 'CAM agreement' },
  attribute_precision: { label: 'Described parts correct', paper: 'Attribute precision' },
  captionLoss: { label: 'Caption error', paper: 'caption loss (cross-entropy)' },
  classLoss: { label: 'Species error', paper: 'classification loss' },
  camLoss: { label: 'Heat-map disagreement', paper: 'L_cam' },
  maskLoss: { label: 'Looks outside painted area', paper: 'L_mask' },
  loss: { label: 'Total error', paper: 'total loss' },
  class: { label: 'Species error', paper: 'L_class (classification loss)' },
  caption: { label: 'Caption error', paper: 'L_cap (caption loss)' },
  cam: { label: 'Heat-map disagreement', paper: 'L_cam' },
  mask: { label: 'Looks outside painted area', paper: 'L_mask' },
  total: { label: 'Total error', paper: 'total loss' },
  acc: { label: 'Correct species', paper: 'accuracy' },
};

/** Plain label for a metric or loss key; "val X" reads "X (held-out photos)". Unknown keys pass through. */
export function metricName(key: string): MetricName {
  const val = /^val[ _]?(.+)$/.exec(key);
  if (val) {
    const m = metricName(val[1].charAt(0).toLowerCase() + val[1].slice(1));
    return { label: `${m.label} (held-out photos)`, paper: `validation ${m.paper}` };
  }
  return METRICS[key] ?? { label: key, paper: key };
}

/** A model variant in words (the paper's names in tooltips). */
export function variantName(v: string): MetricName {
  const names: Record<string, MetricName> = {
    cnn: { label: 'Species only', paper: 'CNN baseline' },
    lrcn: { label: 'Captions only', paper: 'LRCN baseline' },
    medi: { label: 'Species + captions', paper: 'f_medi (joint model without L_cam)' },
    cam: { label: 'Species + captions, aligned heat maps', paper: 'Ours (joint model with L_cam)' },
  };
  return names[v] ?? { label: v, paper: v };
}

/**
 * A run as people tell runs apart: the name given in Retrain's settings, else when it was trained
 * ("Run of 1 Dec, 14:05"); the id is the last resort (a run with neither).
 */
export function runTitle(r: { id: string; name: string | null; createdAt: string }): string {
  if (r.name) return r.name;
  const d = new Date(r.createdAt);
  if (!r.createdAt || isNaN(d.getTime())) return r.id;
  return `Run of ${d.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })}`;
}

/** What a training job is doing, in words. */
export function phaseName(phase: string | undefined, status: string | undefined): string {
  if (status === 'done') return 'Finished';
  if (status === 'cancelled') return 'Stopped';
  if (status === 'failed') return 'Failed';
  const names: Record<string, string> = {
    extract: 'Reading the photos',
    train: 'Training',
    predict: 'Scoring the collection',
    evaluate: 'Measuring on test photos',
    caption: 'Writing captions',
  };
  return (phase && names[phase]) || 'Starting';
}
