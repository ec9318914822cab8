import { describe, expect, it } from 'vitest';
import { jobText } from '../../src-renderer/src/lib/job-text.ts';
import type { JobInfo } from '../../shared/types.ts';

/** A running job of any kind (no result yet, so any kind fits). */
const job = (j: Partial<Omit<JobInfo, 'result'>>): JobInfo =>
  ({
    id: 'j1',
    kind: 'train',
    status: 'running',
    label: 'train cam from r20261201-120000-ab12',
    done: 0,
    total: 0,
    eta: null,
    message: null,
    result: null,
    ...j,
  }) as JobInfo;

describe('job text for the status bar', () => {
  it('says what each kind of job does, counting photos, without internal labels', () => {
    expect(jobText(job({ kind: 'caption', label: 'caption /home/me/new', done: 12, total: 40 }))).toBe('Captioning 12 of 40 photos…');
    expect(jobText(job({ kind: 'import', label: 'import cub /data/CUB', done: 1200, total: 11788 }))).toBe(
      `Importing ${(1200).toLocaleString()} of ${(11788).toLocaleString()} photos…`,
    );
    expect(jobText(job({ kind: 'predict', label: 'score photos with r1', done: 3, total: 9 }))).toBe('Scoring 3 of 9 photos…');
    expect(jobText(job({ kind: 'evaluate', label: 'evaluate r1', done: 5, total: 10, detail: { phase: 'evaluate' } }))).toBe(
      'Testing the model on 5 of 10 photos…',
    );
    expect(jobText(job({ kind: 'import', label: 'import demo birds', done: 30, total: 120 }))).toBe('Making the demo birds (25%)…');
  });
  it('follows a training job through its phases, rounds counted from 1', () => {
    expect(jobText(job({}))).toBe('Training…');
    expect(jobText(job({ done: 7, total: 20, detail: { phase: 'extract' } }))).toBe('Reading 7 of 20 photos…');
    expect(jobText(job({ done: 40, total: 300, detail: { phase: 'train', epoch: 2, epochs: 15 } }))).toBe('Training: round 3 of 15…');
    expect(jobText(job({ done: 2, total: 24, detail: { phase: 'predict', epoch: 14, epochs: 15 } }))).toBe('Scoring 2 of 24 photos…');
  });
  it('drops the ellipsis once a job has ended, and never shows the raw label', () => {
    const done = jobText(job({ kind: 'caption', status: 'done', label: 'caption /x', done: 40, total: 40 }));
    expect(done).toBe('Captioning 40 of 40 photos');
    for (const kind of ['import', 'train', 'evaluate', 'caption', 'predict', 'extract'] as const)
      expect(jobText(job({ kind, label: `${kind} /secret/path r-id`, done: 1, total: 2 }))).not.toMatch(/secret|r-id|\//);
  });
});
