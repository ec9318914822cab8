/**
 * `plumage train --variant cam` with the default recipe is two runs (medi, then its cam
 * fine-tune). Before the first one trains, the command prints one estimate of both; each run then
 * prints its own. The estimate of the second run made up front is the one that run makes when it
 * starts (same settings, epoch budget with its photo-pass floor, steps and sizes).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOpContext, type OpEvent } from '../../src-main/api/ops/context.ts';
import { train } from '../../src-main/api/ops/train.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import type { TrainEvent } from '../../shared/types.ts';
import { buildFixture, type Fixture } from './report-fixture.ts';

const bin = resolve(process.cwd(), 'bin/plumage.js');
let dir: string;
let fx: Fixture;

beforeAll(() => {
  process.env.PLUMAGE_BACKEND ||= 'wasm';
  dir = mkdtempSync(join(tmpdir(), 'plumage-cam-estimate-'));
  fx = buildFixture(join(dir, 'home'));
  // three photos of each class for training (two captions each), one for testing
  const db = openDb(workspace(fx.home).dbPath);
  fx.images.forEach((im, i) =>
    db.prepare("UPDATE splits SET part = ? WHERE image_id = ? AND scheme = 'default'").run(i % 4 === 3 ? 'test' : 'train', im.id),
  );
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Start = Extract<TrainEvent, { type: 'start' }>;

describe('the duration estimate of the two-stage cam command', () => {
  it("medi's start carries the cam fine-tune's estimate, equal to the one the fine-tune computes when it starts", async () => {
    const starts: Start[] = [];
    const emit = (e: OpEvent) => {
      if (e.type === 'train' && e.event.type === 'start') starts.push(e.event);
    };
    const res = await withOpContext(fx.home, (ctx) =>
      train(ctx, { variant: 'cam', dims: 'tiny', batch: 8, epochs: 1 }, { signal: new AbortController().signal, emit }),
    );
    expect(res.status).toBe('done');
    expect(starts).toHaveLength(2);
    const [medi, cam] = starts;
    expect(medi.run).toBe(res.base_run);
    expect(cam.run).toBe(res.run);
    // the fine-tune's photo-pass floor (5 passes over photos with 2 captions each) gives it 3 epochs of its own
    expect(cam.epochs).toBe(3);
    expect(medi.epochs).toBe(1);
    expect(medi.estimateSec).toBeGreaterThan(0);
    expect(medi.nextStage).toEqual({ variant: 'cam', estimateSec: cam.estimateSec });
    expect(cam.nextStage).toBeUndefined();
  });

  it('the CLI prints the estimate of both runs before the first run, then each run its own', () => {
    const out = spawnSync(process.execPath, [bin, 'train', '--home', fx.home, '--variant', 'cam', '--dims', 'tiny', '--batch', '8', '--epochs', '1'], {
      encoding: 'utf8',
      env: { ...process.env, PLUMAGE_BACKEND: process.env.PLUMAGE_BACKEND },
    });
    expect(out.status, out.stderr).toBe(0);
    const lines = out.stderr.split('\n');
    const both = lines.findIndex((l) => l.startsWith('both runs: estimated'));
    const runs = lines.map((l, i) => [l, i] as const).filter(([l]) => /^run r\S+: .*, estimated /.test(l));
    expect(both, out.stderr).toBeGreaterThanOrEqual(0);
    expect(runs).toHaveLength(2);
    expect(both).toBeLessThan(runs[0][1]);
    // "both runs: estimated 12s in all (medi 3s, then the cam fine-tune 9s)"
    const secs = (s: string) => {
      const m = /^(?:(\d+)m)?(\d+)s$/.exec(s)!;
      return Number(m[1] ?? 0) * 60 + Number(m[2]);
    };
    const m = /^both runs: estimated (\S+) in all \(medi (\S+), then the cam fine-tune (\S+)\)$/.exec(lines[both])!;
    expect(m, lines[both]).not.toBeNull();
    const [all, medi, cam] = [m[1], m[2], m[3]].map(secs);
    expect(Math.abs(all - (medi + cam))).toBeLessThanOrEqual(1);
    // each run's own line repeats its part of the estimate
    const own = runs.map(([l]) => secs(/estimated (\S+)$/.exec(l)![1]));
    expect(own).toEqual([medi, cam]);
  });
});
