import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { formatDuration, Progress } from '../progress.ts';
import { runDemo, type DemoRow } from '../../jobs/demo.ts';

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

/**
 * `plumage demo [--home H] [--json]`: synthetic birds → import → extract → train cnn, lrcn, medi,
 * cam → evaluate → Table 2. Options: --encoder ID | --encoder-path DIR, --species N,
 * --per-species M, --size PX, --epochs N, --dims small|paper|tiny, --seed S, --variants a,b.
 */
export const run: Command = async (ctx) => {
  const { values } = parseCommandArgs(
    ctx.argv,
    {
      encoder: { type: 'string' },
      'encoder-path': { type: 'string' },
      species: { type: 'string' },
      'per-species': { type: 'string' },
      size: { type: 'string' },
      epochs: { type: 'string' },
      dims: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      variants: { type: 'string' },
    },
    false,
  );
  const int = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw usageError(`--${name} needs a positive whole number`);
    return n;
  };
  const variants = values.variants?.split(',').map((s) => s.trim());
  if (variants?.some((v) => !['cnn', 'lrcn', 'medi', 'cam'].includes(v)))
    throw usageError('--variants: cnn, lrcn, medi, cam');
  if (values['encoder-path'] && !existsSync(join(values['encoder-path'], 'model.json'))) {
    throw usageError(`--encoder-path ${values['encoder-path']} has no model.json`);
  }
  let bar: Progress | null = null;
  let stage = '';
  let lastStep = 0;
  const res = await runDemo({
    home: ctx.home,
    encoder: values.encoder,
    encoderPath: values['encoder-path'],
    species: int(values.species, 'species'),
    perSpecies: int(values['per-species'], 'per-species'),
    size: int(values.size, 'size'),
    epochs: int(values.epochs, 'epochs'),
    batch: int(values.batch, 'batch'),
    seed: values.seed !== undefined ? Number(values.seed) : undefined,
    dims: values.dims as 'small' | 'paper' | 'tiny' | undefined,
    variants: variants as ('cnn' | 'lrcn' | 'medi' | 'cam')[] | undefined,
    onStage: (s) => {
      (bar as Progress | null)?.finish();
      bar = null;
      stage = s;
      ctx.err(`== ${s}`);
    },
    onProgress: (done, total, unit = 'items') => {
      bar ??= new Progress(stage.split(' ')[0], total, unit);
      bar.set(done);
    },
    onTrainEvent: (e) => {
      if (e.type === 'epoch') {
        const v = e.val!;
        ctx.err(
          `  epoch ${e.epoch! + 1}/${e.epochs}: val top-1 ${f(v.top1)} caption loss ${f(v.captionLoss)}`,
        );
      } else if (e.type === 'step' && Date.now() - lastStep > 5000) {
        lastStep = Date.now();
        ctx.err(
          `  step ${e.globalStep}/${e.totalSteps} ${e.pairsPerSec!.toFixed(1)} pairs/s ETA ${e.etaSec !== undefined ? formatDuration(e.etaSec) : '?'}`,
        );
      } else if (e.type === 'log') ctx.err(`  ${e.message}`);
    },
    onWarning: (w) => ctx.err(`WARNING: ${w}`),
  });
  (bar as Progress | null)?.finish();
  ctx.log('');
  ctx.log(
    `Table 2 layout — synthetic birds (${res.species} species × ${res.per_species}, test split), encoder ${res.encoder}:`,
  );
  for (const l of formatTable(res.rows)) ctx.log(l);
  ctx.log(
    'CAM agr. = mean cos(classifier CAM, captioner CAM); Attr. = share of colour-part phrases in test captions that match the drawn bird',
  );
  ctx.log(
    `(total ${formatDuration(res.seconds)}; runs: ${res.rows.map((r) => `${r.variant}=${r.run}`).join(', ')})`,
  );
  for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
  return { ...res };
};
