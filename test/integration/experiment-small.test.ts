/**
 * `plumage experiment` on a tiny synthetic workspace (4 species × 6 photos, features from
 * ../shared's MobileNetV2-0.35, 1 epoch at tiny dims): one table row per variant, one run per
 * variant and seed, cam fine-tuned from the same seed's medi, and different seeds give different
 * runs; plumage train --variant cam with the default recipe trains what the experiment's cam is.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quietIo, withOpContext } from '../../src-main/api/ops/context.ts';
import { demoRequest, runDemo } from '../../src-main/api/ops/demo.ts';
import { formatExperiment } from '../../src-main/jobs/experiment-table.ts';
import type { ExperimentResult } from '../../src-main/jobs/experiment.ts';
import { checkpointPaths } from '../../src-main/jobs/run-artifact.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { readSafetensors } from '../../src-main/ml/safetensors.ts';

const TM = resolve(process.cwd(), '../shared/encoders/mobilenet_v2_035_tm');
const bin = resolve(process.cwd(), 'bin/plumage.js');

function experiment(home: string, ...extra: string[]): ExperimentResult {
  return experimentOf(home, 'cnn,lrcn,medi,cam', '1,2', ...extra);
}

function experimentOf(home: string, variants: string, seeds: string, ...extra: string[]): ExperimentResult {
  const args = ['experiment', '--home', home, '--json', '--variants', variants, '--seeds', seeds];
  args.push('--recipe', 'legacy', '--set', 'epochs=1', '--set', 'dims=tiny', '--set', 'batch=8', '--cam-set', 'epochs=1', ...extra);
  return plumage<ExperimentResult>(...args);
}

/** Runs the CLI on wasm and returns its --json result. */
function plumage<T>(...args: string[]): T {
  const out = execFileSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PLUMAGE_BACKEND: 'wasm' },
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

describe('plumage experiment (tiny)', () => {
  it('prints one row per variant, trains every variant × seed, and seeds change the runs', async () => {
    const home = mkdtempSync(join(tmpdir(), 'plumage-exp-'));
    // synthetic photos, import and features (the demo's first stages; one cnn epoch as a by-product)
    const demo = demoRequest.parse({ encoderPath: TM, species: 4, perSpecies: 6, size: 64, epochs: 1, dims: 'tiny', batch: 8, variants: ['cnn'] });
    await withOpContext(home, (ctx) => runDemo(ctx, demo, quietIo()));
    const res = experiment(home);
    expect(res.summary.map((r) => r.variant)).toEqual(['cnn', 'lrcn', 'medi', 'cam']);
    expect(res.summary.every((r) => r.seeds === 2)).toBe(true);
    expect(res.runs).toHaveLength(8);
    const main = formatExperiment(res.summary);
    const firstTable = main.slice(1, main.indexOf(''));
    expect(firstTable.filter((l) => /^\| (CNN|LRCN|f_medi|Ours)/.test(l))).toHaveLength(4);
    // classification only where there is a classifier; product decoding only with a captioner
    const cnn = res.summary[0].stats;
    expect(cnn.top1).toBeDefined();
    expect(cnn.cider).toBeUndefined();
    expect(res.summary[1].stats.product_cider).toBeDefined();
    expect(res.summary[1].stats.top1).toBeUndefined();
    // cam starts from the same seed's medi run
    for (const seed of [1, 2]) {
      const medi = res.runs.find((r) => r.variant === 'medi' && r.seed === seed)!;
      expect(res.runs.find((r) => r.variant === 'cam' && r.seed === seed)!.warm_start).toBe(medi.run);
    }
    // cam − medi seed by seed, from those runs
    expect(res.paired!.seeds).toEqual([1, 2]);
    const [cam1, medi1, cam2, medi2] = [['cam', 1], ['medi', 1], ['cam', 2], ['medi', 2]].map(
      ([v, s]) => res.runs.find((r) => r.variant === v && r.seed === s)!.metrics.cider!,
    );
    expect(res.paired!.stats.cider!.mean).toBeCloseTo((cam1 - medi1 + cam2 - medi2) / 2, 12);
    // the two seeds trained different weights for every variant
    const ws = workspace(home);
    // the tensors, not the file bytes (the metadata names the run)
    const weights = (run: string) =>
      Object.entries(readSafetensors(checkpointPaths(ws, run).weights).tensors).map(([n, t]) => [n, Array.from(t.data)]);
    for (const v of ['cnn', 'lrcn', 'medi', 'cam']) {
      const [a, b] = [1, 2].map((seed) => res.runs.find((r) => r.variant === v && r.seed === seed)!.run);
      expect(a).not.toBe(b);
      expect(weights(a).map(([n]) => n)).toEqual(weights(b).map(([n]) => n));
      expect(weights(a)).not.toEqual(weights(b));
    }

    // equal budget: medi gets cam's fine-tune too (without L_cam); cam still starts from the plain medi
    const eq = experimentOf(home, 'medi,cam', '1', '--equal-budget');
    expect(eq.equal_budget).toBe(true);
    const [medi, cam] = ['medi', 'cam'].map((v) => eq.runs.find((r) => r.variant === v)!);
    expect(medi.before).toBeDefined();
    expect(medi.warm_start).toBe(medi.before!.run);
    expect(medi.run).not.toBe(medi.before!.run);
    expect(medi.epochs_run).toBe(1);
    expect(cam.warm_start).toBe(medi.before!.run);
    expect(cam.before).toBeUndefined();
    // the plain medi and cam are those of the experiment above (same seed, same settings)
    const plain = (v: string) => res.runs.find((r) => r.variant === v && r.seed === 1)!.metrics;
    expect(medi.before!.metrics).toEqual(plain('medi'));
    expect(cam.metrics).toEqual(plain('cam'));
    expect(eq.paired).toBeNull(); // one seed: nothing to pair
    // the continued medi is another model (one more epoch)
    expect(readSafetensors(checkpointPaths(ws, medi.run).weights).tensors['cap.out.weight'].data).not.toEqual(
      readSafetensors(checkpointPaths(ws, medi.before!.run).weights).tensors['cap.out.weight'].data,
    );

    // the default recipe: plumage train --variant cam trains medi, then fine-tunes it with L_cam —
    // the same two runs, to the bit, as the experiment's cam under --recipe standard
    const tiny = ['--dims', 'tiny', '--batch', '8', '--epochs', '1'];
    const trained = plumage<{ run: string; variant: string; base_run?: string }>('train', '--home', home, '--json', '--variant', 'cam', ...tiny);
    expect(trained.variant).toBe('cam');
    expect(trained.base_run).toBeDefined();
    const std = plumage<ExperimentResult>('experiment', '--home', home, '--json', '--variants', 'cam', '--seeds', '1', '--set', 'dims=tiny', '--set', 'batch=8', '--set', 'epochs=1');
    expect(std.recipe).toBe('standard');
    const expCam = std.runs[0];
    expect(expCam.warm_start).not.toBeNull();
    expect(expCam.run).not.toBe(trained.run);
    expect(weights(trained.run)).toEqual(weights(expCam.run));
    expect(weights(trained.base_run!)).toEqual(weights(expCam.warm_start!));
    // and L_cam changed the fine-tune: cam is not its medi
    expect(weights(trained.run)).not.toEqual(weights(trained.base_run!));
  }, 900_000);

  it('refuses an unknown training setting with a one-line error', () => {
    const home = mkdtempSync(join(tmpdir(), 'plumage-exp-'));
    let err = '';
    try {
      experiment(home, '--set', 'lamda=0.3');
    } catch (e) {
      err = String((e as { stderr?: string }).stderr);
    }
    expect(err).toMatch(/'lamda' is not a training setting/);
    expect(err).not.toMatch(/\n\s+at /);
  });
});
