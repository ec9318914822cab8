/**
 * Caption tokenisation for scoring (docs/design.md: Metrics: lower-cased, punctuation stripped).
 *
 * The COCO caption code runs Stanford's PTBTokenizer and then drops punctuation tokens. We do
 * the same for the cases that occur in captions without a JVM: lower-case, split PTB-style
 * clitics off ("bird's" → "bird 's", "don't" → "do n't"), keep intra-word hyphens and
 * apostrophes, and drop every token that is only punctuation. Already-clean text
 * ("a small bird") comes back as its space-separated words, unchanged.
 */

// Clitics the PTB tokenizer splits off a word (lower-case input).
const CLITIC = /^(.+?)('s|'m|'d|'re|'ve|'ll|n't)$/;
// Characters that are never part of a word token.
const PUNCT = /[!?;:"“”‘’()[\]{}<>`…\u2013\u2014/\\|*#~^+=@$%&_]+/g;
// Periods and commas, except inside a number ("3.5", "1,000"), as PTB keeps those.
const STOP = /[.,](?!\d)|(?<!\d)[.,]/g;

/** Tokens of one caption. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const cleaned = String(text)
    .toLowerCase()
    .replace(/’/g, "'")
    .replace(PUNCT, ' ')
    .replace(STOP, ' ');
  for (const raw of cleaned.split(/\s+/)) {
    // Hyphens and apostrophes only survive inside a word.
    const w = raw.replace(/^[-']+|[-']+$/g, '');
    if (!w || /^[-']+$/.test(w)) continue;
    const m = CLITIC.exec(w);
    if (m && m[1] && !/^[-']+$/.test(m[1])) out.push(m[1], m[2]);
    else out.push(w);
  }
  return out;
}

/** The tokenised caption as the single-space string the COCO scorers split on. */
export function normalizeCaption(text: string): string {
  return tokenize(text).join(' ');
}
