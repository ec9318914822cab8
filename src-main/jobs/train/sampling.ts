/**
 * What one training epoch shows the model: by default every image once, with one of its captions
 * drawn at random at each step (the paper's); with `allCaptions` every (image, caption) pair
 * once, so a small set's captions are all seen every epoch instead of one in ten. An image then
 * counts once per caption in L_class too (CUB has ten captions for every photo, so the classes
 * keep their weights).
 */
import type { Example } from './dataset.ts';

export interface TrainItem {
  example: Example;
  /** Index into example.captions; null = draw one at random when the item is used. */
  caption: number | null;
}

/** The items of one epoch, in a fixed order (the epoch's permutation shuffles their indices). */
export function trainItems(train: Example[], allCaptions: boolean): TrainItem[] {
  if (!allCaptions) return train.map((example) => ({ example, caption: null }));
  return train.flatMap((example): TrainItem[] =>
    example.captions.length
      ? example.captions.map((_, caption) => ({ example, caption }))
      : [{ example, caption: null }],
  );
}

/** The caption text of an item: its own, or one drawn with `randomIndex` (images without captions get ''). */
export function itemCaption(item: TrainItem, randomIndex: (n: number) => number): string {
  const caps = item.example.captions;
  if (!caps.length) return '';
  return caps[item.caption ?? randomIndex(caps.length)];
}

/**
 * A new run's epoch count: `epochs`, raised with allCaptions until the run passes over every
 * training photo at least `minPhotoPasses` times. An epoch of every caption is one pass per
 * caption, so 4 epochs are 40 photo passes on photos with ten captions but only 4 on photos with
 * one; the floor gives those the passes a one-caption epoch budget gave them.
 */
export function epochBudget(
  cfg: { epochs: number; allCaptions: boolean; minPhotoPasses?: number },
  train: { captions: unknown[] }[],
): number {
  const floor = cfg.minPhotoPasses ?? 0;
  if (!cfg.allCaptions || floor <= 0 || !train.length) return cfg.epochs;
  const items = train.reduce((n, e) => n + Math.max(1, e.captions.length), 0);
  return Math.max(cfg.epochs, Math.ceil((floor * train.length) / items));
}
