/**
 * Per-epoch validation and test scores of runs trained with the default recipe (or overrides):
 * the weights at the end of every epoch (the resume checkpoint the loop writes there) scored on
 * the validation and test parts — top-1, and for captioners the greedy CIDEr-D and the selection
 * score — so one sees which epoch the selection picked and which was best on the test photos
 * (docs/training.md, rows 60 on). Not part of `npm run bench`; trains in the given workspace:
 *   PLUMAGE_BACKEND=node node --import tsx bench/experiments/epoch-trace.ts HOME SPLIT VARIANT SEEDS [key=value …] [--json]
 * e.g. `… /tmp/ws official medi 1,2,3 epochs=8`. Seeds comma-separated.
 */
import * as tf from '@tensorflow/tfjs';
import { copyFileSync, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { workspace } from '../../src-main/data/workspace.ts';
import { paramsFromTensors, type Variant } from '../../src-main/ml/model.ts';
import { readSafetensors } from '../../src-main/ml/safetensors.ts';
import { parseOverrides } from '../../src-main/jobs/experiment.ts';
import { RECIPES } from '../../src-main/jobs/train/config.ts';
import { runTraining } from '../../src-main/jobs/train/loop.ts';
import { evaluateSplit, selectionScore } from '../../src-main/jobs/train/validation.ts';
import { checkpointPaths } from '../../src-main/jobs/run-artifact.ts';
import { runData } from './run-data.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const [home, split, variant, seedList, ...sets] = args.filter((a) => a !== '--json');
const overrides = parseOverrides(sets);
const ws = workspace(home);
const out: unknown[] = [];
console.error(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const seed of seedList.split(',').map(Number)) {
  let run = '';
  const saved: string[] = [];
  const c0 = process.cpuUsage();
  const res = await runTraining({
    home,
    config: { ...RECIPES.standard, ...overrides, split, variant: variant as Variant, seed },
    onEvent: (e) => {
      if (e.type === 'start') run = e.run;
      // The first step of epoch e: the resume file still holds the weights after epoch e − 1.
      if (e.type === 'step' && e.step === 1 && e.epoch >= 1) {
        const dst = `${checkpointPaths(ws, run).resumeWeights}.ep${e.epoch - 1}`;
        copyFileSync(checkpointPaths(ws, run).resumeWeights, dst);
        saved[e.epoch - 1] = dst;
      }
    },
  });
  const dst = `${checkpointPaths(ws, run).resumeWeights}.ep${res.epochs_run - 1}`;
  copyFileSync(checkpointPaths(ws, run).resumeWeights, dst);
  saved[res.epochs_run - 1] = dst;
  const cpu = process.cpuUsage(c0);
  const { side, data, cache, index } = runData(ws, run);
  const epochs = [];
  for (let ep = 0; ep < saved.length; ep++) {
    if (!saved[ep] || !existsSync(saved[ep])) continue;
    const f = readSafetensors(saved[ep]);
    const tensors: Record<string, tf.Tensor> = {};
    for (const [n, t] of Object.entries(f.tensors))
      if (!n.startsWith('opt.')) tensors[n] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
    const { params } = paramsFromTensors(tensors, side.variant);
    tf.dispose(Object.values(tensors));
    const val = evaluateSplit(params, side.variant, data.val, cache, index, side.maxLen, 64, 'greedy');
    const test = evaluateSplit(params, side.variant, data.test, cache, index, side.maxLen, 64, 'greedy');
    const train = evaluateSplit(params, side.variant, data.train, cache, index, side.maxLen, 64, null);
    tf.dispose(Object.values(params));
    epochs.push({
      epoch: ep,
      val_top1: val.top1,
      val_cider: val.cider ?? null,
      score: selectionScore(val, side.dims.V, side.config.select),
      test_top1: test.top1,
      test_cider: test.cider ?? null,
      train_top1: train.top1,
    });
  }
  const row = { seed, run, best_epoch: res.best_epoch, best_test_top1: res.test?.top1 ?? null, cpu_s: (cpu.user + cpu.system) / 1e6, epochs };
  out.push(row);
  if (!json) {
    console.log(`seed ${seed} run ${run} best epoch ${res.best_epoch} test top-1 ${res.test?.top1?.toFixed(3)} (cpu ${row.cpu_s.toFixed(0)} s)`);
    for (const e of epochs)
      console.log(
        `  ep ${e.epoch}: val top-1 ${e.val_top1?.toFixed(3)} cider ${e.val_cider?.toFixed(3) ?? '—'} score ${e.score.toFixed(3)} | test top-1 ${e.test_top1?.toFixed(3)} cider ${e.test_cider?.toFixed(3) ?? '—'} | train top-1 ${e.train_top1?.toFixed(3)}`,
      );
  }
}
console.error(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (json) console.log(JSON.stringify(out, null, 1));
