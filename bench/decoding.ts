/**
 * Decoding sweep on trained runs (an experiment: needs a prepared --home with runs): for each run
 * and each decoding setting, the caption metrics of the test split and how repetitive the captions
 * are. Nothing is written to the runs. One JSON line per (run, setting) on stdout.
 *
 *   node --import tsx bench/decoding.ts --home H --runs A,B,C
 */
import { parseArgs } from 'node:util';
import { getRun } from '../src-main/data/runs.ts';
import { openDb } from '../src-main/data/store.ts';
import { workspace } from '../src-main/data/workspace.ts';
import { evaluateWith } from '../src-main/jobs/evaluate.ts';
import { loadRunModel } from '../src-main/jobs/run-artifact.ts';
import { initBackend } from '../src-main/ml/backend.ts';
import type { BeamOptions } from '../src-main/ml/decode.ts';

const SETTINGS: BeamOptions[] = [
  { width: 1, lengthAlpha: 1, noRepeatNgram: 0 },
  { width: 3, lengthAlpha: 1, noRepeatNgram: 0 },
  { width: 3, lengthAlpha: 0, noRepeatNgram: 2 },
  { width: 3, lengthAlpha: 0.5, noRepeatNgram: 2 },
  { width: 3, lengthAlpha: 1, noRepeatNgram: 2 },
  { width: 3, lengthAlpha: 1, noRepeatNgram: 3 },
  { width: 5, lengthAlpha: 1, noRepeatNgram: 2 },
];

const { values } = parseArgs({ options: { home: { type: 'string' }, runs: { type: 'string' } } });
if (!values.home || !values.runs) throw new Error('usage: bench/decoding.ts --home H --runs A,B');
await initBackend();
const ws = workspace(values.home);
const db = openDb(ws.dbPath);
for (const id of values.runs.split(',')) {
  const run = getRun(db, id);
  if (!run) throw new Error(`no run ${id}`);
  const model = loadRunModel(ws, run);
  for (const s of SETTINGS) {
    const t0 = Date.now();
    const ev = evaluateWith(db, ws, run, model, { productDecoding: s, camExamples: 0 });
    const p = ev.product!;
    const line = {
      bench: 'decoding',
      run: id,
      variant: run.variant,
      decode: p.decode,
      bleu4: p.bleu4,
      meteor: p.meteor,
      cider: p.cider,
      repeated_bigram_share: p.repeated_bigram_share,
      distinct2: p.distinct2,
      greedy_cider: ev.cider,
      greedy_repeated_bigram_share: ev.repeated_bigram_share,
      seconds: (Date.now() - t0) / 1000,
    };
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  for (const t of Object.values(model.P)) t.dispose();
}
db.close();
