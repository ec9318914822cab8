import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planRetrain, runDetail } from '../../src-main/api/insights.ts';
import { createRun } from '../../src-main/data/runs.ts';
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
  it('refuses settings out of range', () => {
    const s = INVOKE_SCHEMAS['train:start'];
    expect(s.safeParse({ lr: -1 }).success).toBe(false);
    expect(s.safeParse({ batch: 0 }).success).toBe(false);
    expect(s.safeParse({ recipe: 'fast' }).success).toBe(false);
    expect(s.safeParse({ name: ' ' }).success).toBe(false);
    expect(s.safeParse({ lr: 0.01, batch: 8, lambda: 0, recipe: 'paper', name: 'a', notes: '' }).success).toBe(true);
  });
});
