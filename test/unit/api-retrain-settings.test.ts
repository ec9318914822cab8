import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FINE_TUNE, planRetrain, RETRAIN_DEFAULTS, runDetail } from '../../src-main/api/insights.ts';
import { configOf } from '../../src-main/api/ops/train.ts';
import { CAM_FINE_TUNE, RECIPES } from '../../src-main/jobs/train/config.ts';
import { RETRAIN_LAMBDA, RETRAIN_ROUNDS } from '../../shared/ipc.ts';
import { createRun, updateRun } from '../../src-main/data/runs.ts';
import { listRuns } from '../../src-main/data/queries.ts';
import { INVOKE_SCHEMAS } from '../../src-main/api/schemas.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';

let db: Db | undefined;
let dir: string | undefined;
afterEach(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  db = dir = undefined;
});

describe('retrain settings', () => {
  it('the recipe sets the optimiser; explicit lr, batch, λ, name and notes win', () => {
    dir = mkdtempSync(join(tmpdir(), 'plumage-retrain-'));
    db = openDb(join(dir, 'p.db'));
    const paper = planRetrain(db, { recipe: 'paper', warmStart: false }).config;
    expect(paper).toMatchObject({ optimizer: 'sgd', lr: 0.1, schedule: 'constant' });
    const custom = planRetrain(db, { recipe: 'practical', lr: 0.01, batch: 16, lambda: 0.5, epochs: 3, name: 'tidy', notes: 'after fixing crows', warmStart: false }).config;
    expect(custom).toMatchObject({ optimizer: 'adam', schedule: 'cosine', lr: 0.01, batch: 16, lambda: 0.5, epochs: 3, name: 'tidy', notes: 'after fixing crows' });
    expect(planRetrain(db, { warmStart: false }).config).not.toHaveProperty('name');
  });
  it("the runs list and a run's detail carry the name from its settings (null when unnamed)", () => {
    dir = mkdtempSync(join(tmpdir(), 'plumage-retrain-'));
    db = openDb(join(dir, 'p.db'));
    const base = { variant: 'cam', encoder: 'e', backend: 'cpu', datasetVersion: 'v', status: 'done' } as const;
    createRun(db, { ...base, id: 'r-named', config: planRetrain(db, { name: 'after fixing the crows', warmStart: false }).config });
    createRun(db, { ...base, id: 'r-plain', config: planRetrain(db, { warmStart: false }).config });
    expect(Object.fromEntries(listRuns(db).map((r) => [r.id, r.name]))).toEqual({ 'r-named': 'after fixing the crows', 'r-plain': null });
    expect(runDetail(db, 'r-named').name).toBe('after fixing the crows');
  });
  it("a warm-started Retrain is the recipe's fine-tune; asked-for rounds win; from scratch is the default recipe", () => {
    dir = mkdtempSync(join(tmpdir(), 'plumage-retrain-'));
    db = openDb(join(dir, 'p.db'));
    // no finished run yet: from scratch, what plumage train trains without options
    const scratch = planRetrain(db, {});
    expect(scratch.parent).toBeNull();
    expect(configOf(scratch.config)).toEqual(configOf({ variant: 'cam' }));
    expect(configOf(scratch.config)).toMatchObject({ epochs: RETRAIN_DEFAULTS.epochs, minPhotoPasses: RECIPES.standard.minPhotoPasses, allCaptions: true });
    // the settings form's placeholder says the same rounds
    expect(RETRAIN_ROUNDS).toEqual({ fineTune: FINE_TUNE.epochs, fromScratch: RETRAIN_DEFAULTS.epochs });
    expect(RETRAIN_LAMBDA).toBe(FINE_TUNE.lambda);
    createRun(db, { id: 'r-first', variant: 'medi', encoder: 'e', backend: 'cpu', datasetVersion: 'v', status: 'done', config: { ...configOf(scratch.config), variant: 'medi', lambda: 1 } });
    updateRun(db, 'r-first', { checkpoint: 'r-first.safetensors' });
    const fineTune = planRetrain(db, {});
    expect(fineTune.parent?.id).toBe('r-first');
    expect(FINE_TUNE.epochs).toBeLessThan(RETRAIN_DEFAULTS.epochs);
    // the parent's rounds and λ are not inherited: the fine-tune's are, at half the parent's rate
    expect(configOf(fineTune.config)).toMatchObject({
      warmStart: 'r-first',
      ...CAM_FINE_TUNE.standard,
      patience: RECIPES.standard.patience,
      allCaptions: true,
      select: 'cider',
    });
    const sgdParent = { ...configOf(scratch.config), optimizer: 'sgd', lr: 0.1 };
    createRun(db, { id: 'r-sgd', variant: 'cam', encoder: 'e', backend: 'cpu', datasetVersion: 'v', status: 'done', config: sgdParent });
    updateRun(db, 'r-sgd', { checkpoint: 'r-sgd.safetensors' });
    expect(configOf(planRetrain(db, {}).config)).toMatchObject({ warmStart: 'r-sgd', optimizer: 'sgd', lr: 0.05 });
    // a fine-tune of a fine-tune keeps the rate: Retrain after Retrain does not halve it again
    createRun(db, { id: 'r-tuned', variant: 'cam', encoder: 'e', backend: 'cpu', datasetVersion: 'v', status: 'done', config: configOf(planRetrain(db, {}).config) });
    updateRun(db, 'r-tuned', { checkpoint: 'r-tuned.safetensors' });
    expect(configOf(planRetrain(db, {}).config)).toMatchObject({ warmStart: 'r-tuned', lr: 0.05 });
    // asked-for rounds are the budget (no photo-pass floor), an asked-for λ wins
    expect(configOf(planRetrain(db, { epochs: 12, lambda: 1 }).config)).toMatchObject({ warmStart: 'r-tuned', epochs: 12, minPhotoPasses: 0, lambda: 1 });
    expect(configOf(planRetrain(db, { warmStart: false }).config)).toMatchObject({ epochs: RETRAIN_DEFAULTS.epochs });
    expect(planRetrain(db, { warmStart: false }).config).not.toHaveProperty('warmStart');
  });
  it('refuses settings out of range', () => {
    const s = INVOKE_SCHEMAS['train:start'];
    expect(s.safeParse({ lr: -1 }).success).toBe(false);
    expect(s.safeParse({ batch: 0 }).success).toBe(false);
    expect(s.safeParse({ recipe: 'fast' }).success).toBe(false);
    expect(s.safeParse({ name: ' ' }).success).toBe(false);
    expect(s.safeParse({ lr: 0.01, batch: 8, lambda: 0, recipe: 'paper', name: 'a', notes: '' }).success).toBe(true);
  });
});
