/**
 * Training determinism: cancel mid-epoch then resume ends at exactly the weights (and optimizer
 * state) of an uninterrupted run with the same seed; runs are recorded; the worker thread path
 * (tsx inside a worker) runs and cancels cleanly. Crash safety: a finished run is never resumed,
 * the resume checkpoint follows the run within epochs, a run whose process died is marked
 * interrupted and resumes exactly, a run trained by a live process is not resumed twice.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src-main/data/store.ts';
import { getRun, updateRun } from '../../src-main/data/runs.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { readSafetensors } from '../../src-main/ml/safetensors.ts';
import { checkpointPaths, readResumeState } from '../../src-main/jobs/run-artifact.ts';
import type { TrainConfig } from '../../src-main/jobs/train/config.ts';
import { buildVocab, decodeCaption, encodeCaption } from '../../src-main/jobs/train/dataset.ts';
import { runTraining, startTrainingWorker } from '../../src-main/jobs/train/loop.ts';
import { trainFixture as fixture } from '../helpers/train-fixture.ts';

const CFG: Partial<TrainConfig> & { variant: 'cam' } = {
  variant: 'cam',
  encoder: 'test_enc',
  dims: 'tiny',
  epochs: 3,
  batch: 5, // 12 training images → 3 steps per epoch, the last one short
  lr: 0.01,
  optimizer: 'adam',
  seed: 3,
  maxLen: 8,
  patience: 10,
  schedule: 'cosine', // the rate depends on the global step: resuming must restore it too
  clip: 1,
};

function weights(home: string, run: string) {
  return readSafetensors(checkpointPaths(workspace(home), run).resumeWeights).tensors;
}

beforeAll(() => {
  process.env.PLUMAGE_BACKEND = process.env.PLUMAGE_BACKEND || 'wasm';
});

describe('vocabulary and tokens', () => {
  it('orders words by count, maps unknown words to <unk>, pads after <eos>', () => {
    const v = buildVocab(['a red bird', 'a blue bird', 'a bird'], 1);
    expect(v.slice(0, 6)).toEqual(['<pad>', '<bos>', '<eos>', '<unk>', 'a', 'bird']);
    const idx = new Map(v.map((w, i) => [w, i]));
    const ids = encodeCaption('A RED, tiny bird!', idx, 8);
    expect(Array.from(ids)).toEqual([1, 4, idx.get('red')!, 3, 5, 2, 0, 0]);
    expect(decodeCaption(ids, v)).toBe('a red <unk> bird');
  });
});

describe('training: cancel then resume', () => {
  it('ends at the same weights as an uninterrupted run with the same seed', async () => {
    const homeA = fixture();
    const homeB = fixture();
    const a = await runTraining({ home: homeA, config: CFG });
    expect(a.status).toBe('done');
    expect(a.steps).toBe(9);
    // Cancel mid-epoch (after 4 steps: inside epoch 2), then resume to the end.
    const b1 = await runTraining({ home: homeB, config: CFG, stopAfterSteps: 4 });
    expect(b1.status).toBe('cancelled');
    expect(b1.steps).toBe(4);
    {
      const db = openDb(workspace(homeB).dbPath);
      expect(getRun(db, b1.run)!.status).toBe('cancelled');
      db.close();
    }
    const b2 = await runTraining({ home: homeB, config: { variant: 'cam' }, resume: b1.run });
    expect(b2.status).toBe('done');
    expect(b2.run).toBe(b1.run);
    expect(b2.steps).toBe(9);
    const wa = weights(homeA, a.run);
    const wb = weights(homeB, b1.run);
    expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
    expect(Object.keys(wa).some((n) => n.startsWith('opt.medi.weight#'))).toBe(true);
    for (const n of Object.keys(wa)) {
      expect(Array.from(wb[n].data), n).toEqual(Array.from(wa[n].data));
    }
    // A different seed gives different weights (the comparison above can fail).
    const homeC = fixture();
    const c = await runTraining({ home: homeC, config: { ...CFG, seed: 4 } });
    const wc = weights(homeC, c.run);
    expect(Array.from(wc['medi.weight'].data)).not.toEqual(Array.from(wa['medi.weight'].data));
    // The run record: config, dataset version, per-epoch losses, checkpoint.
    const db = openDb(workspace(homeA).dbPath);
    const r = getRun(db, a.run)!;
    db.close();
    expect(r.status).toBe('done');
    expect(r.encoder).toBe('test_enc');
    expect(r.datasetVersion).toMatch(/^[0-9a-f]{16}$/);
    expect(r.epochs).toHaveLength(3);
    expect((r.epochs[0] as { loss: { cam: number } }).loss.cam).toBeGreaterThanOrEqual(0);
    expect(r.checkpoint).toBe(`${a.run}.safetensors`);
    const side = JSON.parse(readFileSync(checkpointPaths(workspace(homeA), a.run).sidecar, 'utf8'));
    expect(side.vocab).toContain('green');
    expect(side.vocab).not.toContain('yellow');
    expect(side.classes.map((x: { name: string }) => x.name)).toEqual([
      'species 0',
      'species 1',
      'species 2',
    ]);
  });

  it('uses painted masks for the μ term when μ > 0', async () => {
    const home = fixture();
    const sharp = (await import('sharp')).default;
    const png = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } },
    })
      .composite([
        {
          input: { create: { width: 4, height: 4, channels: 3, background: { r: 255, g: 255, b: 255 } } },
          left: 0,
          top: 0,
        },
      ])
      .png()
      .toBuffer();
    const db = openDb(workspace(home).dbPath);
    const ids = (
      db.prepare(`SELECT image_id FROM splits WHERE part = 'train'`).all() as { image_id: number }[]
    ).map((r) => r.image_id);
    for (const id of ids)
      db.prepare(`INSERT INTO masks (image_id, width, height, png) VALUES (?, 8, 8, ?)`).run(id, png);
    db.close();
    const r = await runTraining({ home, config: { ...CFG, variant: 'medi', epochs: 1, mu: 1 } });
    const db2 = openDb(workspace(home).dbPath);
    const rec = getRun(db2, r.run)!;
    db2.close();
    const loss = (rec.epochs[0] as { loss: { mask: number } }).loss;
    expect(loss.mask).toBeGreaterThan(0);
    expect(r.warnings.join(' ')).not.toMatch(/no training image has a painted mask/);
  });

  it('warm start reuses the parent run’s tensors', async () => {
    const home = fixture();
    const parent = await runTraining({ home, config: { ...CFG, epochs: 1 } });
    const child = await runTraining({ home, config: { ...CFG, epochs: 1, warmStart: parent.run } });
    expect(child.reused).toContain('medi.weight');
    expect(child.reused!.some((r) => r.startsWith('cls.weight (3/3 rows)'))).toBe(true);
  });

  it('runs in a worker thread with progress events and cancels cleanly', async () => {
    const home = fixture();
    const events: string[] = [];
    const h = await startTrainingWorker({ home, config: { ...CFG, epochs: 50 } }, (e) => {
      events.push(e.type);
      if (e.type === 'step' && e.globalStep === 2) h.cancel();
    });
    const r = await h.result;
    expect(r.status).toBe('cancelled');
    expect(r.steps).toBeGreaterThanOrEqual(2);
    expect(r.steps).toBeLessThan(150);
    expect(events).toContain('start');
    expect(events).toContain('step');
    const resumed = await runTraining({ home, config: { variant: 'cam', epochs: 2 }, resume: r.run });
    expect(resumed.status).toBe('done');
  });
});

describe('training: crash safety', () => {
  const status = (home: string, run: string) => {
    const db = openDb(workspace(home).dbPath);
    try {
      return getRun(db, run)!.status;
    } finally {
      db.close();
    }
  };

  it('refuses --resume of a finished run with one line and leaves it done', async () => {
    const home = fixture();
    const a = await runTraining({ home, config: CFG });
    expect(a.status).toBe('done');
    await expect(runTraining({ home, config: { variant: 'cam' }, resume: a.run })).rejects.toThrow(
      new RegExp(`^run ${a.run} already finished: there is nothing to resume$`),
    );
    expect(status(home, a.run)).toBe('done');
  });

  it('writes the resume checkpoint within an epoch when the interval is due, and at each epoch end', async () => {
    const home = fixture();
    const positions: number[] = [];
    // An interval of ~0 minutes: a checkpoint after every step, read back as the run goes.
    const r = await runTraining({
      home,
      config: { ...CFG, checkpointMinutes: 1e-9 },
      onEvent: (e) => {
        if (e.type === 'step') positions.push(readResumeState(workspace(home), e.run)!.globalStep);
      },
    });
    expect(r.steps).toBe(9);
    // The step event of step k sees the checkpoint of step k - 1 (written after the event).
    expect(positions).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('marks a run whose process died interrupted at the next start, then resumes it to the uninterrupted weights', async () => {
    const homeA = fixture();
    const homeB = fixture();
    const a = await runTraining({ home: homeA, config: CFG });
    // A killed process leaves its run 'running' with its owner file: simulate one whose pid is gone.
    const b1 = await runTraining({ home: homeB, config: CFG, stopAfterSteps: 5 });
    const ws = workspace(homeB);
    const db = openDb(ws.dbPath);
    updateRun(db, b1.run, { status: 'running' });
    db.close();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(join(ws.checkpoints, `${b1.run}.owner.json`), JSON.stringify({ pid: dead, host: hostname(), heartbeatAt: Date.now() }));
    const other = await runTraining({ home: homeB, config: { ...CFG, epochs: 1 } });
    expect(other.status).toBe('done');
    expect(status(homeB, b1.run)).toBe('interrupted');
    const b2 = await runTraining({ home: homeB, config: { variant: 'cam' }, resume: b1.run });
    expect(b2.status).toBe('done');
    const wa = weights(homeA, a.run);
    const wb = weights(homeB, b1.run);
    for (const n of Object.keys(wa)) expect(Array.from(wb[n].data), n).toEqual(Array.from(wa[n].data));
  });

  it('refuses to resume a run another live process is training', async () => {
    const home = fixture();
    const b1 = await runTraining({ home, config: CFG, stopAfterSteps: 2 });
    const ws = workspace(home);
    const db = openDb(ws.dbPath);
    updateRun(db, b1.run, { status: 'running' });
    db.close();
    writeFileSync(join(ws.checkpoints, `${b1.run}.owner.json`), JSON.stringify({ pid: process.pid, host: hostname(), heartbeatAt: Date.now() }));
    await expect(runTraining({ home, config: { variant: 'cam' }, resume: b1.run })).rejects.toThrow(
      new RegExp(`^run ${b1.run} is being trained now by process ${process.pid}: it cannot be resumed twice$`),
    );
    expect(status(home, b1.run)).toBe('running');
  });
});
