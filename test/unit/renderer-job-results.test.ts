/** Reading finished jobs' results in the renderer: checked field by field, never trusted blindly. */
import { describe, expect, it } from 'vitest';
import type { JobInfo } from '../../shared/types.ts';
import { captionedBatch, importReport } from '../../src-renderer/src/lib/job-results.ts';

/**
 * A job as it may arrive over the wire: the results here are also malformed on purpose (the
 * renderer reads them field by field), which the JobInfo type would not allow — hence the cast.
 */
const job = (over: { kind?: JobInfo['kind']; status?: JobInfo['status']; result?: unknown }): JobInfo =>
  ({
    id: 'j1',
    kind: 'import',
    status: 'done',
    label: 'import',
    done: 1,
    total: 1,
    eta: 0,
    message: null,
    result: null,
    ...over,
  }) as JobInfo;

describe('importReport', () => {
  it('reads the counts and bad files of a finished import', () => {
    const result = { images: 24, classes: 4, captions: 48, added: 20, errors: [{ path: 'a.jpg', reason: 'not an image' }] };
    expect(importReport(job({ result }))).toEqual(result);
  });

  it('is null while the import runs, for other kinds of job and for a missing result', () => {
    const result = { images: 1, classes: 1, captions: 0, added: 1, errors: [] };
    expect(importReport(job({ status: 'running', result }))).toBeNull();
    expect(importReport(job({ kind: 'train', result }))).toBeNull();
    expect(importReport(job({ result: null }))).toBeNull();
    expect(importReport(null)).toBeNull();
  });

  it('reads a missing or mistyped count as 0 and drops malformed bad-file rows', () => {
    const r = importReport(job({ result: { images: '3', added: 2, errors: [{ path: 'b.jpg' }, 'x', { path: 'c.jpg', reason: 'empty' }] } }));
    expect(r).toEqual({ images: 0, classes: 0, captions: 0, added: 2, errors: [{ path: 'c.jpg', reason: 'empty' }] });
  });
});

describe('captionedBatch', () => {
  it('is the batch id a finished captioning job names, else null', () => {
    expect(captionedBatch(job({ kind: 'caption', result: { job: 7, files: 20 } }))).toBe(7);
    expect(captionedBatch(job({ kind: 'caption', result: { job: '7' } }))).toBeNull();
    expect(captionedBatch(job({ kind: 'import', result: { job: 7 } }))).toBeNull();
    expect(captionedBatch(job({ kind: 'caption', result: null }))).toBeNull();
  });
});
