/**
 * `plumage score --refs R --cands C [--meteor wordnet|stem|none] [--json]` (docs/design.md: Metrics):
 * BLEU-1..4, METEOR, ROUGE-L and CIDEr-D of candidate captions against references.
 */
import { readFileSync } from 'node:fs';
import { scoreCaptions } from '../../ml/metrics/index.ts';
import { pairCorpus } from '../../ml/metrics/inputs.ts';
import { parseCommandArgs, type Command } from '../context.ts';
import { usageError } from '../errors.ts';
import { firstLine, invalidRequest, ioError } from '../../util/errors.ts';

function readJson(path: string, flag: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw ioError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : firstLine(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidRequest(`${flag} ${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

export const run: Command = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, {
    refs: { type: 'string' },
    cands: { type: 'string' },
    meteor: { type: 'string', default: 'wordnet' },
  });
  if (positionals.length) throw usageError(`unexpected argument '${positionals[0]}'`);
  if (!values.refs || !values.cands) throw usageError('usage: plumage score --refs refs.json --cands cands.json [--json]');
  const mode = values.meteor;
  if (mode !== 'wordnet' && mode !== 'stem' && mode !== 'none') throw usageError('--meteor must be wordnet, stem or none');
  const corpus = pairCorpus(readJson(values.refs, '--refs'), readJson(values.cands, '--cands'));
  const t0 = performance.now();
  const s = scoreCaptions(corpus.refs, corpus.cands, { meteor: mode === 'none' ? false : mode });
  const ms = performance.now() - t0;
  const n = Object.keys(corpus.cands).length;
  if (!ctx.json) {
    const rows: [string, number][] = [
      ['BLEU-1', s.bleu1],
      ['BLEU-2', s.bleu2],
      ['BLEU-3', s.bleu3],
      ['BLEU-4', s.bleu4],
      ['METEOR', s.meteor],
      ['ROUGE-L', s.rougeL],
      ['CIDEr-D', s.cider],
    ];
    ctx.log(`${n} image(s) scored in ${ms.toFixed(0)} ms (refs: ${corpus.refsFormat}, cands: ${corpus.candsFormat})`);
    for (const [k, v] of rows) ctx.log(`  ${k.padEnd(8)} ${Number.isNaN(v) ? '—' : v.toFixed(4)}`);
  }
  const out: Record<string, unknown> = {
    bleu1: s.bleu1,
    bleu2: s.bleu2,
    bleu3: s.bleu3,
    bleu4: s.bleu4,
    meteor: mode === 'none' ? null : s.meteor,
    rougeL: s.rougeL,
    cider: s.cider,
    per_image: s.per_image,
  };
  return out;
};
