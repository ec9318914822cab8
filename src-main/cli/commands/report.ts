/**
 * `plumage report [--runs A,B,…] [--out FILE.html] [--reeval] [--json]`: the paper's Table 2
 * layout for the given runs (default: the latest finished run of each variant) with relative
 * improvements over the cnn / lrcn baselines, Table 1 (split sizes) when the paper protocol
 * split exists, and a self-contained HTML report. Runs without stored metrics are evaluated.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatTable1, formatTable2, renderReportHtml, table2, type ReportRun } from '../../api/report-html.ts';
import { getRun, latestRun, type RunRecord } from '../../data/runs.ts';
import { summarise, type SplitSummary } from '../../data/splits.ts';
import { openDb } from '../../data/store.ts';
import { workspace } from '../../data/workspace.ts';
import { evaluateRun, type EvalResult } from '../../jobs/evaluate.ts';
import { parseCommandArgs, type Command } from '../context.ts';
import { usageError } from '../errors.ts';
import { errorCode, firstLine, notFound, PlumageError, unavailable } from '../../util/errors.ts';

const hasEval = (m: Record<string, unknown> | null): boolean => !!m && 'top1' in m && 'split' in m && 'per_class' in m;

export const run: Command = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, {
    runs: { type: 'string' },
    out: { type: 'string' },
    reeval: { type: 'boolean', default: false },
  });
  if (positionals.length) throw usageError(`unexpected argument '${positionals[0]}'`);
  const ws = workspace(ctx.home);
  const db = openDb(ws.dbPath);
  let records: RunRecord[];
  try {
    if (values.runs) {
      const ids = values.runs.split(',').map((s) => s.trim()).filter(Boolean);
      if (!ids.length) throw usageError('--runs needs run ids, e.g. --runs r1,r2');
      records = ids.map((id) => {
        const r = getRun(db, id);
        if (!r) throw notFound(`no run '${id}'`);
        return r;
      });
    } else {
      records = (['cnn', 'lrcn', 'medi', 'cam'] as const).map((v) => latestRun(db, v)).filter((r): r is RunRecord => r !== null);
      if (!records.length) throw unavailable('no finished runs to report (train some, or pass --runs)');
    }
  } finally {
    db.close();
  }

  const runs: ReportRun[] = [];
  for (const r of records) {
    let metrics = r.metrics;
    if (values.reeval || !hasEval(metrics)) {
      ctx.err(`evaluating run ${r.id} (${r.variant}) …`);
      try {
        metrics = (await evaluateRun({ home: ctx.home, runId: r.id })) as unknown as Record<string, unknown>;
      } catch (e) {
        throw new PlumageError(errorCode(e) === 'internal' ? 'unavailable' : errorCode(e), `cannot evaluate run ${r.id}: ${firstLine(e)}`);
      }
    }
    const fresh = openDb(ws.dbPath);
    const rec = getRun(fresh, r.id)!;
    fresh.close();
    runs.push({ run: rec, metrics: metrics as unknown as EvalResult });
  }

  // Table 1: the paper protocol's split sizes where that split exists, else the evaluated scheme.
  const table1: SplitSummary[] = [];
  const db2 = openDb(ws.dbPath);
  try {
    // A run trained on the whole workspace has no collection: then every collection counts.
    const allCollections = () => (db2.prepare('SELECT id FROM collections ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    const cols = new Set(runs.flatMap((r) => (r.run.collectionId !== null ? [r.run.collectionId] : allCollections())));
    for (const col of cols) {
      const schemes = ['paper-caption', 'paper'];
      let found = schemes.map((s) => summarise(db2, col, s)).filter((s) => s.parts.length);
      if (!found.length) found = [...new Set(runs.map((r) => r.metrics.split.scheme))].map((s) => summarise(db2, col, s)).filter((s) => s.parts.length);
      table1.push(...found);
    }
  } finally {
    db2.close();
  }

  const out = resolve(values.out ?? join(ws.reports, `report-${new Date().toISOString().replace(/[:.]/g, '-')}.html`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, await renderReportHtml({ runs, table1 }));

  if (!ctx.json) {
    for (const l of formatTable2(runs)) ctx.log(l);
    if (table1.length) {
      ctx.log('');
      for (const l of formatTable1(table1)) ctx.log(l);
    }
    ctx.log('');
    ctx.log(`HTML report: ${out}`);
  }
  const t2 = table2(runs);
  return {
    runs: runs.map((r) => ({ run: r.run.id, variant: r.run.variant, ...pick(r.metrics) })),
    table2: t2,
    table1,
    html: out,
  };
};

function pick(m: EvalResult) {
  const { top1, top5, bleu1, bleu2, bleu3, bleu4, meteor, rougeL, cider, cam_agreement, pointing } = m;
  return { top1, top5, bleu1, bleu2, bleu3, bleu4, meteor, rougeL, cider, cam_agreement, pointing };
}
