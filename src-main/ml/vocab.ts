/**
 * Caption vocabulary: lower-cased, punctuation stripped, words seen at least `minCount` times in
 * the training captions; ids 0 <pad>, 1 <bos>, 2 <eos>, 3 <unk>, words from 4 in order of
 * decreasing count (ties alphabetical), so the same captions always give the same ids.
 */
import { BOS, EOS, PAD, UNK, FIRST_WORD } from './model.ts';

export const SPECIALS = ['<pad>', '<bos>', '<eos>', '<unk>'];

export interface Vocab {
  /** id → word, including the four specials at 0..3 */
  words: string[];
  /** word → id */
  index: Map<string, number>;
  minCount: number;
}

/** Lower-case, drop apostrophes (bird's → birds), every other non letter/digit becomes a space. */
export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/['’`]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
}

export function buildVocab(
  captions: Iterable<string>,
  opts: { minCount?: number; maxWords?: number } = {},
): Vocab {
  const minCount = opts.minCount ?? 1;
  const counts = new Map<string, number>();
  for (const c of captions) for (const w of tokenize(c)) counts.set(w, (counts.get(w) ?? 0) + 1);
  let words = [...counts.entries()]
    .filter(([, n]) => n >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w]) => w);
  if (opts.maxWords !== undefined) words = words.slice(0, opts.maxWords);
  return makeVocab([...SPECIALS, ...words], minCount);
}

function makeVocab(words: string[], minCount: number): Vocab {
  for (let i = 0; i < SPECIALS.length; i++)
    if (words[i] !== SPECIALS[i]) throw new Error(`vocabulary id ${i} must be ${SPECIALS[i]}`);
  return { words, index: new Map(words.map((w, i) => [w, i])), minCount };
}

/** BOS w… EOS PAD… of length T; longer captions keep their first T−2 words. */
export function encode(v: Vocab, text: string, T: number): Int32Array {
  const out = new Int32Array(T).fill(PAD);
  out[0] = BOS;
  const toks = tokenize(text).slice(0, T - 2);
  toks.forEach((w, i) => (out[i + 1] = v.index.get(w) ?? UNK));
  out[toks.length + 1] = EOS;
  return out;
}

/** Words up to the first EOS (PAD/BOS skipped, <unk> kept as "<unk>"). */
export function decode(v: Vocab, ids: ArrayLike<number>): string {
  const words: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === EOS) break;
    if (id === PAD || id === BOS) continue;
    words.push(v.words[id] ?? SPECIALS[UNK]);
  }
  return words.join(' ');
}

export const vocabSize = (v: Vocab) => v.words.length;

export function vocabToJSON(v: Vocab): { words: string[]; minCount: number; firstWord: number } {
  return { words: v.words, minCount: v.minCount, firstWord: FIRST_WORD };
}

export function vocabFromJSON(j: { words: string[]; minCount?: number }): Vocab {
  return makeVocab(j.words, j.minCount ?? 1);
}
