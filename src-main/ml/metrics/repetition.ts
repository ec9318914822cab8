/**
 * How much generated captions repeat themselves: the share of captions in which some word bigram
 * occurs twice ("and a … and a"), and distinct-2 — distinct bigrams / all bigrams over the whole
 * set of captions (Li et al. 2016), low when captions loop or are all alike.
 */
import type { RepetitionScores } from '../../../shared/types.ts';
import { tokenize } from './tokenize.ts';

function bigrams(caption: string): string[] {
  const w = tokenize(caption);
  const out: string[] = [];
  for (let i = 0; i + 1 < w.length; i++) out.push(`${w[i]} ${w[i + 1]}`);
  return out;
}

export function repetitionScores(captions: readonly string[]): RepetitionScores {
  let repeated = 0;
  let total = 0;
  const distinct = new Set<string>();
  for (const c of captions) {
    const bg = bigrams(c);
    if (new Set(bg).size < bg.length) repeated++;
    total += bg.length;
    for (const b of bg) distinct.add(b);
  }
  return {
    repeated_bigram_share: captions.length ? repeated / captions.length : 0,
    distinct2: total ? distinct.size / total : 0,
  };
}
