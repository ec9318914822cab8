import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FINE_TUNE, planRetrain, RETRAIN_DEFAULTS, runDetail } from '../../src-main/api/insights.ts';
import { configOf } from '../../src-main/api/ops/train.ts';
import { RECIPES } from '../../src-main/jobs/train/config.ts';
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
  it('a warm-started Retrain fine-tunes in fewer rounds; asked-for rounds win; from scratch keeps the recipe', () => {
    dir = mkdtempSync(join(tmpdir(), 'plumage-retrain-'));
    db = openDb(join(dir, 'p.db'));
    // no finished run yet: from scratch, the full recipe's rounds and early stopping
    const scratch = planRetrain(db, {});
    expect(scratch.parent).toBeNull();
    expect(configOf(scratch.config)).toMatchObject({ epochs: RETRAIN_DEFAULTS.epochs, patience: RECIPES.fast.patience });
    createRun(db, { id: 'r-first', variant: 'cam', encoder: 'e', backend: 'cpu', datasetVersion: 'v', status: 'done', config: { ...scratch.config, epochs: 15 } });
    updateRun(db, 'r-first', { checkpoint: 'r-first.safetensors' });
    const fineTune = planRetrain(db, {});
    expect(fineTune.parent?.id).toBe('r-first');
    expect(FINE_TUNE.epochs).toBeLessThan(RETRAIN_DEFAULTS.epochs);
    // from scratch is the fast recipe's full length (the settings form shows RETRAIN_ROUNDS)
    expect(RETRAIN_DEFAULTS.epochs).toBe(RECIPES.fast.epochs);
    // the parent's 15 rounds are not inherited: the fine-tune's are
    expect(configOf(fineTune.config)).toMatchObject({ warmStart: 'r-first', epochs: FINE_TUNE.epochs, patience: RECIPES.fast.patience });
    expect(planRetrain(db, { epochs: 12 }).config).toMatchObject({ warmStart: 'r-first', epochs: 12 });
    expect(planRetrain(db, { warmStart: false }).config).toMatchObject({ epochs: RETRAIN_DEFAULTS.epochs });
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
