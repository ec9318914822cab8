import { latestRun } from '../../data/runs.ts';
import type { Db } from '../../data/store.ts';
import { notFound } from '../../util/errors.ts';

export function requireRun(db: Db, runId: string): void {
  if (!db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId)) throw notFound(`no run '${runId}'`);
}

/** The run asked for, else the latest finished one; `purpose` finishes "no finished run to …". */
export function runOrLatest(db: Db, runId: string | undefined, purpose: string): string {
  if (runId) {
    requireRun(db, runId);
    return runId;
  }
  const latest = latestRun(db)?.id;
  if (!latest) throw notFound(`no finished run to ${purpose} with: train one first`);
  return latest;
}
