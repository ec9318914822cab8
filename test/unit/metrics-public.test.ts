/**
 * Caption metrics against ../shared/metrics/public.json (values computed by the original
 * coco-caption code and NLTK 3.8): every corpus-level and per-image value.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scoreCaptions } from '../../src-main/ml/metrics/index.ts';
import type { CaptionScores } from '../../shared/types.ts';
import { sharedPath } from '../helpers/shared.ts';

interface Corpus {
  name: string;
  images: { id: number | string; candidate: string; references: string[] }[];
  expected: Record<string, number>;
  per_image: Record<string, number[]>;
}
const pub = JSON.parse(readFileSync(sharedPath('metrics/public.json'), 'utf8')) as {
  corpora: Corpus[];
};

const FIELD: Record<string, keyof CaptionScores> = {
  Bleu_1: 'bleu1',
  Bleu_2: 'bleu2',
  Bleu_3: 'bleu3',
  Bleu_4: 'bleu4',
  ROUGE_L: 'rougeL',
  CIDEr: 'cider',
  METEOR_nltk: 'meteor',
  METEOR_nltk_exact_stem_only: 'meteor',
};
const TOL: Record<string, number> = { METEOR_nltk: 1e-3 };

describe('caption metrics match coco-caption / NLTK on public.json', () => {
  it('has all six corpora and all eight metrics', () => {
    expect(pub.corpora.length).toBe(6);
    for (const c of pub.corpora) expect(Object.keys(c.expected).sort()).toEqual(Object.keys(FIELD).sort());
  });

  for (const c of pub.corpora) {
    it(c.name, () => {
      const refs: Record<string, string[]> = {};
      const cands: Record<string, string> = {};
      for (const im of c.images) {
        refs[im.id] = im.references;
        cands[im.id] = im.candidate;
      }
      const full = scoreCaptions(refs, cands);
      const stemOnly = scoreCaptions(refs, cands, { meteor: 'stem' });
      let checked = 0;
      for (const [metric, expected] of Object.entries(c.expected)) {
        const s = metric === 'METEOR_nltk_exact_stem_only' ? stemOnly : full;
        const tol = TOL[metric] ?? 1e-4;
        expect(Math.abs(s[FIELD[metric]] - expected), `${c.name} ${metric}`).toBeLessThanOrEqual(tol);
        c.per_image[metric].forEach((v, i) => {
          const got = s.per_image[String(c.images[i].id)][FIELD[metric]];
          expect(Math.abs(got - v), `${c.name} image ${c.images[i].id} ${metric}`).toBeLessThanOrEqual(tol);
          checked++;
        });
      }
      expect(checked).toBe(8 * c.images.length);
    });
  }
});
