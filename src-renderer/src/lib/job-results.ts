/**
 * What a finished job's `result` holds, for the screens that show it. `JobInfo.result` is typed
 * per job kind (shared/types.ts `JobResults`), but it crossed a process boundary as JSON: the
 * fields a screen shows are still checked here, so a malformed one reads as 0 / none instead of
 * breaking the dialog.
 */
import type { ImportReport, JobInfo } from '../../../shared/types.ts';

/** A finished import's report (null while the job runs, or for another kind of job). */
export function importReport(job: JobInfo | null): ImportReport | null {
  const r = job?.kind === 'import' && job.status === 'done' ? job.result : null;
  if (typeof r !== 'object' || r === null) return null;
  const fields: [string, unknown][] = Object.entries(r);
  const field = (k: keyof ImportReport): unknown => fields.find(([name]) => name === k)?.[1];
  const num = (k: keyof ImportReport) => {
    const v = field(k);
    return typeof v === 'number' ? v : 0;
  };
  const errors = field('errors');
  return { images: num('images'), classes: num('classes'), captions: num('captions'), added: num('added'), errors: Array.isArray(errors) ? errors.filter(isBadFile) : [] };
}

const isBadFile = (e: unknown): e is ImportReport['errors'][number] =>
  typeof e === 'object' && e !== null && 'path' in e && typeof e.path === 'string' && 'reason' in e && typeof e.reason === 'string';

/** The batch a finished captioning job wrote (its result names it), if the job says. */
export function captionedBatch(job: JobInfo): number | null {
  const r = job.result;
  return job.kind === 'caption' && typeof r === 'object' && r !== null && 'job' in r && typeof r.job === 'number' ? r.job : null;
}

