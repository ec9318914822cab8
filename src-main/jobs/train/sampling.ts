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
