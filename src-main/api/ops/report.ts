import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { getRun, latestRun, type RunRecord } from '../../data/runs.ts';
import { summarise, type SplitSummary } from '../../data/splits.ts';
import type { Db } from '../../data/store.ts';
import { evaluateRun, type EvalResult } from '../../jobs/evaluate.ts';
import { errorCode, firstLine, notFound, PlumageError, unavailable } from '../../util/errors.ts';
import { VARIANTS } from '../../ml/model.ts';
import { renderReportHtml, table2, type ReportRun } from '../report-html.ts';
import type { JobIo, OpContext } from './context.ts';
import { LIMITS, path, runId } from './schemas.ts';

export const reportRequest = z.strictObject({
  /** The runs to compare (default: the latest finished run of each variant). */
  runs: z.array(runId).min(1).max(LIMITS.page).optional(),
  /** The HTML file (default: <home>/reports/report-<time>.html). */
  out: path.optional(),
  /** Evaluate every run again, even those with stored metrics. */
  reeval: z.boolean().default(false),
});
export type ReportRequest = z.infer<typeof reportRequest>;

export interface Report {
  runs: ReportRun[];
  /** Split sizes per collection: the paper protocol's where it exists, else the evaluated scheme's. */
  table1: SplitSummary[];
  table2: ReturnType<typeof table2>;
  html: string;
}

const hasEval = (m: Record<string, unknown> | null): boolean => !!m && 'top1' in m && 'split' in m && 'per_class' in m;

/**
 * The paper's Table 2 for the chosen runs (relative improvements over the cnn / lrcn baselines),
 * Table 1 and a self-contained HTML report. Runs without stored metrics are evaluated first
 * (each announced as a warning-free 'evaluate' progress message).
 */
export async function buildReport(ctx: OpContext, req: ReportRequest, io: JobIo): Promise<Report> {
  const runs: ReportRun[] = [];
  for (const r of chooseRuns(ctx.db, req.runs)) {
    let metrics = r.metrics;
    if (req.reeval || !hasEval(metrics)) {
      io.emit({ type: 'progress', done: 0, total: 1, message: `evaluating run ${r.id} (${r.variant}) …` });
      metrics = await evaluateForReport(ctx, r.id);
    }
    runs.push({ run: getRun(ctx.db, r.id)!, metrics: metrics as unknown as EvalResult });
  }
  const table1 = splitTables(ctx.db, runs);
  const html = resolve(req.out ?? join(ctx.ws.reports, `report-${new Date().toISOString().replace(/[:.]/g, '-')}.html`));
  mkdirSync(dirname(html), { recursive: true });
  writeFileSync(html, await renderReportHtml({ runs, table1 }));
  return { runs, table1, table2: table2(runs), html };
}

function chooseRuns(db: Db, ids: string[] | undefined): RunRecord[] {
  if (ids)
    return ids.map((id) => {
      const r = getRun(db, id);
      if (!r) throw notFound(`no run '${id}'`);
      return r;
    });
  const latest = VARIANTS.map((v) => latestRun(db, v)).filter((r): r is RunRecord => r !== null);
  if (!latest.length) throw unavailable('no finished runs to report (train some, or pass --runs)');
  return latest;
}

/** A run that cannot be evaluated is a problem with that run (its files, its data), reported as such. */
async function evaluateForReport(ctx: OpContext, runId: string): Promise<Record<string, unknown>> {
  try {
    return (await evaluateRun({ home: ctx.ws.home, runId })) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new PlumageError(errorCode(e) === 'internal' ? 'unavailable' : errorCode(e), `cannot evaluate run ${runId}: ${firstLine(e)}`);
  }
}

/** Table 1: the paper protocol's split sizes where that split exists, else the evaluated scheme's. */
function splitTables(db: Db, runs: ReportRun[]): SplitSummary[] {
  // A run trained on the whole workspace has no collection: then every collection counts.
  const allCollections = () => (db.prepare('SELECT id FROM collections ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  const cols = new Set(runs.flatMap((r) => (r.run.collectionId !== null ? [r.run.collectionId] : allCollections())));
  const table1: SplitSummary[] = [];
  for (const col of cols) {
    let found = ['paper-caption', 'paper'].map((s) => summarise(db, col, s)).filter((s) => s.parts.length);
    if (!found.length)
      found = [...new Set(runs.map((r) => r.metrics.split.scheme))].map((s) => summarise(db, col, s)).filter((s) => s.parts.length);
    table1.push(...found);
  }
  return table1;
}
