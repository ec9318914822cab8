/**
 * A small `plumage demo` end to end through the CLI (synth 4 species × 6 photos → import →
 * extract with ../shared's MobileNetV2-0.35 → cnn, lrcn, medi, cam for 1 epoch at tiny dims →
 * eval → Table 2). Checks the table, the runs recorded and that a rerun reuses everything.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src-main/data/store.ts';
import { listRuns } from '../../src-main/data/runs.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { attributePrecision } from '../../src-main/jobs/demo.ts';
import { SHARED_ENCODER } from '../helpers/shared.ts';

const TM = SHARED_ENCODER;
const bin = resolve(process.cwd(), 'bin/plumage.js');

function demo(home: string) {
  const args = [
    bin,
    'demo',
    '--home',
    home,
    '--json',
    '--encoder-path',
    TM,
    '--species',
    '4',
    '--per-species',
    '6',
    '--size',
    '64',
    '--epochs',
    '1',
    '--dims',
    'tiny',
    '--batch',
    '8',
  ];
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PLUMAGE_BACKEND: process.env.PLUMAGE_BACKEND || 'wasm' },
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('attribute precision of synthetic captions', () => {
  it('counts colour-part phrases that match the drawn species', () => {
    const synth = {
      attributes: { crown_color: ['red', 'blue'], tail_color: ['red', 'blue'], tail_shape: ['forked'] },
      species: [
        { folder: '001.A', attributes: { crown_color: 'red', tail_color: 'blue', tail_shape: 'forked' } },
      ],
    };
    const caps = [
      { folder: '001.A', caption: 'a bird with a red crown and a blue forked tail' }, // 2 right
      { folder: '001.A', caption: 'this bird has a blue crown' }, // 1 wrong
      { folder: '001.A', caption: 'a small bird' }, // no phrase
    ];
    expect(attributePrecision(caps, synth)).toBeCloseTo(2 / 3, 10);
    expect(attributePrecision([{ folder: '001.A', caption: 'a small bird' }], synth)).toBeNull();
  });
});

describe('plumage demo (small)', () => {
  it('runs the four variants end to end and prints one Table 2 row per variant', () => {
    const home = mkdtempSync(join(tmpdir(), 'plumage-demo-'));
    const res = demo(home);
    expect(res.encoder).toBe('mobilenet_v2_035');
    expect(res.rows.map((r: { variant: string }) => r.variant)).toEqual(['cnn', 'lrcn', 'medi', 'cam']);
    const by = Object.fromEntries(
      res.rows.map((r: { variant: string; metrics: Record<string, number | null> }) => [
        r.variant,
        r.metrics,
      ]),
    );
    // Classification metrics only where there is a classifier, caption metrics only where there is a captioner.
    expect(by.cnn.top1).toBeGreaterThanOrEqual(0);
    expect(by.cnn.top5).toBeGreaterThanOrEqual(by.cnn.top1);
    expect(by.cnn.bleu1).toBeNull();
    expect(by.lrcn.top1).toBeNull();
    expect(by.lrcn.bleu1).toBeGreaterThanOrEqual(0);
    // 1 tiny epoch may produce no colour-part phrase at all (null); otherwise a share.
    for (const v of ['lrcn', 'medi', 'cam']) {
      const p = by[v].attribute_precision;
      expect(p === null || (p >= 0 && p <= 1)).toBe(true);
    }
    expect(by.cnn.attribute_precision).toBeNull();
    for (const v of ['medi', 'cam']) {
      expect(by[v].top1).not.toBeNull();
      expect(by[v].cider).not.toBeNull();
      expect(by[v].cam_agreement).not.toBeNull();
    }
    // cam fine-tunes the medi run (warm start recorded as the parent run).
    expect(res.rows[3].warm_start).toBe(res.rows[2].run);
    const db = openDb(workspace(home).dbPath);
    const runs = listRuns(db);
    db.close();
    expect(runs).toHaveLength(4);
    expect(runs.every((r) => r.status === 'done' && r.encoder === 'mobilenet_v2_035' && r.checkpoint)).toBe(
      true,
    );
    expect(new Set(runs.map((r) => r.datasetVersion)).size).toBe(1);
    expect(runs.find((r) => r.variant === 'cam')!.parentRun).toBe(res.rows[2].run);
    // A rerun reuses the synthetic photos, the import and the features.
    const again = demo(home);
    expect(again.rows).toHaveLength(4);
    expect(res.extract.extracted).toBe(24);
    expect(again.extract).toMatchObject({ extracted: 0, cached: 24 });
    // two demos of four trainings, each in the training worker and followed by scoring the collection
  }, 600_000);
});
