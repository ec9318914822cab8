import type { OpEvent } from '../../api/ops/context.ts';
import { withOpContext } from '../../api/ops/context.ts';
import { demoRequest, runDemo, type DemoRow } from '../../api/ops/demo.ts';
import type { Command } from '../context.ts';
import { formatDuration, stagePrinter } from '../progress.ts';
import { parseRequest } from '../request.ts';

const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '  —  ' : x.toFixed(d));

/** The paper's Table 2 layout: one row per variant, classification then caption metrics. */
export function formatTable(rows: DemoRow[]): string[] {
  const head = [
    'Model',
    'Top-1',
    'Top-5',
    'BLEU-1',
    'BLEU-2',
    'BLEU-3',
    'BLEU-4',
    'METEOR',
    'ROUGE-L',
    'CIDEr',
    'CAM agr.',
    'Attr.',
  ];
  const names: Record<string, string> = {
    cnn: 'CNN',
    lrcn: 'LRCN',
    medi: 'f_medi (no L_cam)',
    cam: 'Ours (L_cam)',
  };
  const lines = [head.map((h, i) => (i === 0 ? h.padEnd(20) : h.padStart(8))).join(' ')];
  lines.push('-'.repeat(lines[0].length));
  for (const r of rows) {
    const m = r.metrics;
    const cells = [
      m.top1,
      m.top5,
      m.bleu1,
      m.bleu2,
      m.bleu3,
      m.bleu4,
      m.meteor,
      m.rougeL,
      m.cider,
      m.cam_agreement,
      m.attribute_precision,
    ].map((x) => f(x).padStart(8));
    lines.push([(names[r.variant] ?? r.variant).padEnd(20), ...cells].join(' '));
  }
  return lines;
}

const USAGE =
  'usage: plumage demo [--encoder ID | --encoder-path DIR] [--species N] [--per-species M] [--size PX] [--epochs N] [--dims small|paper|tiny] [--seed S] [--batch B] [--variants a,b]';

/**
 * `plumage demo [--home H] [--json]`: synthetic birds → import → extract → train cnn, lrcn, medi,
 * cam → evaluate → Table 2 (the demo operation, api/ops/demo.ts). Options: --encoder ID |
 * --encoder-path DIR, --species N, --per-species M, --size PX, --epochs N, --dims small|paper|tiny,
 * --seed S, --batch B, --variants a,b.
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, { schema: demoRequest, lists: ['variants'], usage: USAGE });
  const res = await withOpContext(ctx.home, (op) =>
    runDemo(op, request, { signal: new AbortController().signal, emit: demoPrinter(ctx.err) }),
  );
  ctx.log('');
  ctx.log(
    `Table 2 layout — synthetic birds (${res.species} species × ${res.per_species}, test split), encoder ${res.encoder}:`,
  );
  for (const l of formatTable(res.rows)) ctx.log(l);
  ctx.log(
    'CAM agr. = mean cos(classifier CAM, captioner CAM); Attr. = share of colour-part phrases in test captions that match the drawn bird',
  );
  ctx.log(`(total ${formatDuration(res.seconds)}; runs: ${res.rows.map((r) => `${r.variant}=${r.run}`).join(', ')})`);
  for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
  return { ...res };
};

/** The demo's stages and bars, and each training's epochs and (every 5 s) steps. */
function demoPrinter(err: (line: string) => void): (e: OpEvent) => void {
  let lastStep = 0;
  return stagePrinter(err, (t) => {
    if (t.type === 'epoch') err(`  epoch ${t.epoch + 1}/${t.epochs}: val top-1 ${f(t.val.top1)} caption loss ${f(t.val.captionLoss)}`);
    else if (t.type === 'step' && Date.now() - lastStep > 5000) {
      lastStep = Date.now();
      err(`  step ${t.globalStep}/${t.totalSteps} ${t.pairsPerSec.toFixed(1)} pairs/s ETA ${t.etaSec !== undefined ? formatDuration(t.etaSec) : '?'}`);
    } else if (t.type === 'log') err(`  ${t.message}`);
  });
}
