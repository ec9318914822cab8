import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { scoreCaptions } from '../../ml/metrics/index.ts';
import { pairCorpus } from '../../ml/metrics/inputs.ts';
import { firstLine, invalidRequest, ioError } from '../../util/errors.ts';
import { path } from './schemas.ts';

export const captionScoreRequest = z.strictObject({
  /** Reference captions: COCO captions JSON or {id: [captions]}. */
  refs: path,
  /** Candidate captions: COCO results JSON or {id: caption}. */
  cands: path,
  /** METEOR's matching (wordnet: exact, stem and synonym stages), or none to skip it. */
  meteor: z.enum(['wordnet', 'stem', 'none']).default('wordnet'),
});
export type CaptionScoreRequest = z.infer<typeof captionScoreRequest>;

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw ioError(`${what} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : firstLine(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidRequest(`${what} ${file}: not valid JSON (${firstLine(e)})`);
  }
}

/** BLEU-1..4, METEOR, ROUGE-L and CIDEr-D of candidate captions against references (both files). */
export function scoreCaptionFiles(req: CaptionScoreRequest) {
  const corpus = pairCorpus(readJson(req.refs, '--refs'), readJson(req.cands, '--cands'));
  const t0 = performance.now();
  const s = scoreCaptions(corpus.refs, corpus.cands, { meteor: req.meteor === 'none' ? false : req.meteor });
  return {
    scores: {
      bleu1: s.bleu1,
      bleu2: s.bleu2,
      bleu3: s.bleu3,
      bleu4: s.bleu4,
      meteor: req.meteor === 'none' ? null : s.meteor,
      rougeL: s.rougeL,
      cider: s.cider,
      per_image: s.per_image,
    },
    images: Object.keys(corpus.cands).length,
    ms: performance.now() - t0,
    refsFormat: corpus.refsFormat,
    candsFormat: corpus.candsFormat,
  };
}
