/**
 * `plumage report [--runs A,B,…] [--out FILE.html] [--reeval] [--json]`: the paper's Table 2
 * layout for the given runs (default: the latest finished run of each variant) with relative
 * improvements over the cnn / lrcn baselines, Table 1 (split sizes) when the paper protocol
 * split exists, and a self-contained HTML report. Runs without stored metrics are evaluated.
 */
import { withOpContext } from '../../api/ops/context.ts';
import { buildReport, reportRequest } from '../../api/ops/report.ts';
import { formatTable1, formatTable2 } from '../../api/report-html.ts';
import type { EvalResult } from '../../api/ops/evaluate.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: reportRequest,
    lists: ['runs'],
    usage: 'usage: plumage report [--runs A,B,…] [--out FILE.html] [--reeval]',
  });
  const report = await withOpContext(ctx.home, (op) =>
    buildReport(op, request, { signal: new AbortController().signal, emit: (e) => e.type === 'progress' && ctx.err(e.message ?? '') }),
  );
  if (!ctx.json) {
    for (const l of formatTable2(report.runs)) ctx.log(l);
    if (report.table1.length) {
      ctx.log('');
      for (const l of formatTable1(report.table1)) ctx.log(l);
    }
    ctx.log('');
    ctx.log(`HTML report: ${report.html}`);
  }
  return {
    runs: report.runs.map((r) => ({ run: r.run.id, variant: r.run.variant, ...headlineOf(r.metrics) })),
    table2: report.table2,
    table1: report.table1,
    html: report.html,
  };
};

function headlineOf(m: EvalResult) {
  const { top1, top5, bleu1, bleu2, bleu3, bleu4, meteor, rougeL, cider, cam_agreement, pointing } = m;
  return { top1, top5, bleu1, bleu2, bleu3, bleu4, meteor, rougeL, cider, cam_agreement, pointing };
}
