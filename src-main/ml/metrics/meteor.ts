/**
 * METEOR as the paper's eq. 13, computed exactly like NLTK 3.8's `meteor_score`:
 * align words in three stages (exact, then Porter stem, then WordNet synonym), each stage a
 * greedy right-to-left scan that pairs a hypothesis word with the right-most unmatched equal
 * reference word; F_mean = P·R / (α·P + (1−α)·R); penalty = γ·(chunks/matches)^β;
 * score = (1 − penalty)·F_mean; best over the references.
 *
 * NLTK 3.8 quirk kept on purpose: the stem stage replaces the leftover words by their
 * stems, so the synonym stage looks up already-stemmed words ('large' → 'larg').
 */
import { porterStem } from './porter.ts';
import type { WordNet } from './wordnet.ts';

export interface MeteorOptions {
  alpha?: number;
  beta?: number;
  gamma?: number;
  /** null: exact + stem stages only (NLTK with a WordNet that has no synsets). */
  wordnet: WordNet | null;
}

type Enum = [index: number, word: string][];

const stemCache = new Map<string, string>();
function stem(w: string): string {
  let s = stemCache.get(w);
  if (s === undefined) {
    s = porterStem(w);
    if (stemCache.size < 200_000) stemCache.set(w, s);
  }
  return s;
}

function matchEnums(hyp: Enum, ref: Enum, match: [number, number][]): void {
  for (let i = hyp.length - 1; i >= 0; i--) {
    for (let j = ref.length - 1; j >= 0; j--) {
      if (hyp[i][1] === ref[j][1]) {
        match.push([hyp[i][0], ref[j][0]]);
        hyp.splice(i, 1);
        ref.splice(j, 1);
        break;
      }
    }
  }
}

function synonymMatch(hyp: Enum, ref: Enum, wn: WordNet, match: [number, number][]): void {
  for (let i = hyp.length - 1; i >= 0; i--) {
    const w = hyp[i][1];
    let syns: Set<string> | null = null;
    for (let j = ref.length - 1; j >= 0; j--) {
      const r = ref[j][1];
      if (r !== w) {
        syns ??= synonymSet(wn, w);
        if (!syns.has(r)) continue;
      }
      match.push([hyp[i][0], ref[j][0]]);
      hyp.splice(i, 1);
      ref.splice(j, 1);
      break;
    }
  }
}

const synCache = new WeakMap<WordNet, Map<string, Set<string>>>();
/** Lemma names without '_' of every synset of w, plus w itself. */
function synonymSet(wn: WordNet, w: string): Set<string> {
  let m = synCache.get(wn);
  if (!m) synCache.set(wn, (m = new Map()));
  let s = m.get(w);
  if (!s) {
    s = new Set(wn.lemmaNames(w).filter((n) => !n.includes('_')));
    s.add(w);
    m.set(w, s);
  }
  return s;
}

function countChunks(matches: [number, number][]): number {
  let chunks = 1;
  for (let i = 0; i < matches.length - 1; i++) {
    if (!(matches[i + 1][0] === matches[i][0] + 1 && matches[i + 1][1] === matches[i][1] + 1)) chunks++;
  }
  return chunks;
}

/** NLTK single_meteor_score on token lists (already lower-cased). */
export function singleMeteor(ref: readonly string[], hyp: readonly string[], opts: MeteorOptions): number {
  const alpha = opts.alpha ?? 0.9;
  const beta = opts.beta ?? 3;
  const gamma = opts.gamma ?? 0.5;
  let h: Enum = hyp.map((w, i) => [i, w]);
  let r: Enum = ref.map((w, i) => [i, w]);
  const matches: [number, number][] = [];
  matchEnums(h, r, matches);
  h = h.map(([i, w]) => [i, stem(w)]);
  r = r.map(([i, w]) => [i, stem(w)]);
  matchEnums(h, r, matches);
  if (opts.wordnet) synonymMatch(h, r, opts.wordnet, matches);
  const m = matches.length;
  if (m === 0 || hyp.length === 0 || ref.length === 0) return 0;
  matches.sort((a, b) => a[0] - b[0]);
  const p = m / hyp.length;
  const rc = m / ref.length;
  const fmean = (p * rc) / (alpha * p + (1 - alpha) * rc);
  const frag = countChunks(matches) / m;
  return (1 - gamma * frag ** beta) * fmean;
}

/** NLTK meteor_score: the best single-reference score. */
export function meteor(refs: readonly (readonly string[])[], hyp: readonly string[], opts: MeteorOptions): number {
  let best = 0;
  for (const r of refs) best = Math.max(best, singleMeteor(r, hyp, opts));
  return best;
}
