/**
 * The run comparison report (`plumage report`, the runs view): the paper's Table 2 layout with
 * relative improvements over the baselines, as terminal text and as one self-contained HTML file
 * (inline CSS, inline SVG plots, CAM examples as PNG data URIs — no external request, so it can
 * be mailed or archived as is).
 */
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import type { CamExample, EvalResult } from '../jobs/evaluate.ts';
import type { Table2Baselines, Table2Column, Table2Row } from '../../shared/types.ts';
import type { RunRecord } from '../data/runs.ts';
import type { SplitSummary } from '../data/splits.ts';

/** Table 2 columns: key in the eval result, header, whether shown as a percentage. */
export const TABLE2_COLUMNS: Table2Column[] = [
  { key: 'top1', label: 'top-1', pct: true, baseline: 'cnn' },
  { key: 'top5', label: 'top-5', pct: true, baseline: 'cnn' },
  { key: 'bleu1', label: 'BLEU-1', pct: true, baseline: 'lrcn' },
  { key: 'bleu2', label: 'BLEU-2', pct: true, baseline: 'lrcn' },
  { key: 'bleu3', label: 'BLEU-3', pct: true, baseline: 'lrcn' },
  { key: 'bleu4', label: 'BLEU-4', pct: true, baseline: 'lrcn' },
  { key: 'meteor', label: 'METEOR', pct: true, baseline: 'lrcn' },
  { key: 'rougeL', label: 'ROUGE-L', pct: true, baseline: 'lrcn' },
  { key: 'cider', label: 'CIDEr', pct: false, baseline: 'lrcn' },
];

export interface ReportRun {
  run: RunRecord;
  metrics: EvalResult;
}

/**
 * Rows of Table 2. The baseline of a column is the first given run of variant cnn (top-1,
 * top-5) or lrcn (caption metrics); a baseline row has no relative value in its own columns,
 * and neither has a column whose baseline value is (nearly) zero.
 */
export function table2(runs: ReportRun[]): { rows: Table2Row[]; baselines: Table2Baselines } {
  const base = {
    cnn: runs.find((r) => r.run.variant === 'cnn') ?? null,
    lrcn: runs.find((r) => r.run.variant === 'lrcn') ?? null,
  };
  const rows = runs.map((r) => {
    const values = TABLE2_COLUMNS.map((c) => (r.metrics[c.key] as number | null) ?? null);
    const relative = TABLE2_COLUMNS.map((c, i) => {
      const b = base[c.baseline];
      const bv = b ? ((b.metrics[c.key] as number | null) ?? null) : null;
      const v = values[i];
      // A baseline that rounds to zero in the table (below 0.1% or 0.001 CIDEr) makes a ratio meaningless.
      if (!b || b === r || v === null || bv === null || Math.abs(bv) < 1e-3) return null;
      return (v - bv) / bv;
    });
    return { run: r.run.id, variant: r.run.variant, values, relative };
  });
  return { rows, baselines: { cnn: base.cnn?.run.id ?? null, lrcn: base.lrcn?.run.id ?? null } };
}

const fmtValue = (v: number | null, pct: boolean) => (v === null ? '—' : pct ? (100 * v).toFixed(1) : v.toFixed(3));
const fmtRel = (r: number | null) =>
  r === null ? '' : Math.abs(r) >= 10 ? `${r >= 0 ? '>+' : '<−'}999%` : `${r >= 0 ? '+' : '−'}${Math.abs(100 * r).toFixed(1)}%`;

/** Table 2 as terminal lines: values, then relative improvements over the baselines. */
export function formatTable2(runs: ReportRun[]): string[] {
  const { rows, baselines } = table2(runs);
  const w0 = Math.max(3, ...rows.map((r) => r.run.length)) + 2;
  const cw = 9;
  const head = 'run'.padEnd(w0) + 'variant'.padEnd(9) + TABLE2_COLUMNS.map((c) => c.label.padStart(cw)).join('');
  const lines = ['Table 2 — top-1/top-5, BLEU, METEOR, ROUGE-L in %; CIDEr-D raw', head, '-'.repeat(head.length)];
  for (const r of rows)
    lines.push(r.run.padEnd(w0) + r.variant.padEnd(9) + r.values.map((v, i) => fmtValue(v, TABLE2_COLUMNS[i].pct).padStart(cw)).join(''));
  lines.push('');
  lines.push(
    `Relative improvement over the baselines (cnn ${baselines.cnn ?? 'absent'} for top-1/top-5; lrcn ${baselines.lrcn ?? 'absent'} for caption metrics)`,
  );
  lines.push(head);
  lines.push('-'.repeat(head.length));
  for (const r of rows) lines.push(r.run.padEnd(w0) + r.variant.padEnd(9) + r.relative.map((v) => (fmtRel(v) || '·').padStart(cw)).join(''));
  return lines;
}

/** Table 1 (the paper protocol's split sizes) as terminal lines. */
export function formatTable1(summaries: SplitSummary[]): string[] {
  const lines = ['Table 1 — split sizes (classes / images)'];
  for (const s of summaries) {
    lines.push(`  scheme '${s.scheme}'${s.source ? ` — ${s.source}` : ''}`);
    for (const p of s.parts) lines.push(`    ${p.part.padEnd(14)}${String(p.classes).padStart(7)} classes${String(p.images).padStart(8)} images`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// HTML

const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** Numeric series of the per-epoch log: top-level numbers and one nested level (loss.class). */
export function epochSeries(epochs: Record<string, unknown>[]): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  epochs.forEach((e, i) => {
    // The trainer logs epochs from 0; the chart, like the app, counts from 1.
    const x = (typeof e.epoch === 'number' ? e.epoch : i) + 1;
    const put = (name: string, v: unknown) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || name === 'epoch' || name === 'seconds') return;
      if (!out.has(name)) out.set(name, []);
      out.get(name)!.push([x, v]);
    };
    for (const [k, v] of Object.entries(e)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k2, v2] of Object.entries(v)) put(`${k}.${k2}`, v2);
      else put(k, v);
    }
  });
  return out;
}

function niceTicks(lo: number, hi: number, n = 4): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) ticks.push(Number(t.toPrecision(6)));
  return ticks;
}

/** A small multi-series line chart as inline SVG. */
export function lineChart(title: string, series: { name: string; points: [number, number][] }[], w = 360, h = 220): string {
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) return '';
  const m = { l: 44, r: 10, t: 24, b: 30 };
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y0 = Math.min(0, ...ys);
  let y1 = Math.max(...ys);
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) y1 = y0 + 1;
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (w - m.l - m.r);
  const Y = (y: number) => h - m.b - ((y - y0) / (y1 - y0)) * (h - m.t - m.b);
  const parts = [`<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">`];
  parts.push(`<text x="${m.l}" y="15" class="ct">${esc(title)}</text>`);
  for (const t of niceTicks(y0, y1))
    parts.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${Y(t)}" y2="${Y(t)}" class="grid"/><text x="${m.l - 4}" y="${Y(t) + 3}" class="tick" text-anchor="end">${t}</text>`);
  for (const t of niceTicks(x0, x1, 5).filter((t) => Number.isInteger(t)))
    parts.push(`<text x="${X(t)}" y="${h - m.b + 14}" class="tick" text-anchor="middle">${t}</text>`);
  parts.push(`<text x="${(m.l + w - m.r) / 2}" y="${h - 4}" class="tick" text-anchor="middle">epoch</text>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${h - m.b}" class="axis"/><line x1="${m.l}" x2="${w - m.r}" y1="${h - m.b}" y2="${h - m.b}" class="axis"/>`);
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const p of s.points) parts.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="2.5" fill="${c}"/>`);
    parts.push(`<rect x="${w - m.r - 110}" y="${m.t + 2 + 14 * i}" width="10" height="3" fill="${c}"/><text x="${w - m.r - 96}" y="${m.t + 7 + 14 * i}" class="tick">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Grouped horizontal bars: per-class top-1 of every run that has a classifier. */
export function perClassChart(runs: ReportRun[]): string {
  const withCls = runs.filter((r) => r.metrics.per_class.length);
  if (!withCls.length) return '';
  const names = [...new Set(withCls.flatMap((r) => r.metrics.per_class.map((c) => c.name)))];
  const bar = 9;
  const group = bar * withCls.length + 8;
  const labelW = Math.min(220, 12 + 6.5 * Math.max(...names.map((n) => n.length)));
  const w = labelW + 320;
  const h = 30 + names.length * group + 18 * withCls.length;
  const X = (v: number) => labelW + v * 280;
  const parts = [`<svg class="chart" role="img" aria-label="per-class accuracy" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">`];
  for (const t of [0, 0.25, 0.5, 0.75, 1])
    parts.push(`<line x1="${X(t)}" x2="${X(t)}" y1="18" y2="${30 + names.length * group}" class="grid"/><text x="${X(t)}" y="13" class="tick" text-anchor="middle">${t * 100}%</text>`);
  names.forEach((name, i) => {
    const y = 24 + i * group;
    parts.push(`<text x="${labelW - 6}" y="${y + group / 2}" class="tick" text-anchor="end">${esc(name)}</text>`);
    withCls.forEach((r, j) => {
      const c = r.metrics.per_class.find((p) => p.name === name);
      if (!c) return;
      parts.push(
        `<rect x="${labelW}" y="${y + j * bar}" width="${(X(c.top1) - labelW).toFixed(1)}" height="${bar - 1}" fill="${PALETTE[j % PALETTE.length]}"><title>${esc(r.run.id)} · ${esc(name)}: ${(100 * c.top1).toFixed(1)}% of ${c.n}</title></rect>`,
      );
    });
  });
  withCls.forEach((r, j) => {
    const y = 34 + names.length * group + 18 * j;
    parts.push(`<rect x="${labelW}" y="${y - 8}" width="10" height="10" fill="${PALETTE[j % PALETTE.length]}"/><text x="${labelW + 16}" y="${y + 1}" class="tick">${esc(r.run.id)} (${esc(r.run.variant)})</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Jet-like colour map for CAM heat. */
function heat(v: number): [number, number, number] {
  const c = (x: number) => Math.max(0, Math.min(1, x));
  return [c(1.5 - Math.abs(4 * v - 3)) * 255, c(1.5 - Math.abs(4 * v - 2)) * 255, c(1.5 - Math.abs(4 * v - 1)) * 255];
}

/** Bilinear upsampling of an H×W map to size×size, normalised to its maximum. */
function upsample(cam: number[][], size: number): Float32Array {
  const H = cam.length;
  const W = cam[0].length;
  const max = Math.max(1e-12, ...cam.flat());
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = Math.min(H - 1, Math.max(0, ((y + 0.5) * H) / size - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(H - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(W - 1, Math.max(0, ((x + 0.5) * W) / size - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(W - 1, x0 + 1);
      const tx = fx - x0;
      const v = (cam[y0][x0] * (1 - tx) + cam[y0][x1] * tx) * (1 - ty) + (cam[y1][x0] * (1 - tx) + cam[y1][x1] * tx) * ty;
      out[y * size + x] = v / max;
    }
  }
  return out;
}

async function photoRgb(path: string | null, size: number): Promise<Buffer> {
  if (path && existsSync(path)) {
    try {
      return await sharp(path).resize(size, size, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
    } catch {
      // unreadable photo: fall through to a neutral background
    }
  }
  return Buffer.alloc(size * size * 3, 128);
}

const pngUri = async (rgb: Buffer, size: number) =>
  'data:image/png;base64,' + (await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer()).toString('base64');

/** The photo, and the photo with a CAM overlaid (PNG data URIs). */
export async function camImages(ex: CamExample, size = 128): Promise<{ photo: string; cls: string | null; cap: string | null }> {
  const base = await photoRgb(ex.path, size);
  const overlay = async (cam: number[][] | null) => {
    if (!cam || !cam.length) return null;
    const up = upsample(cam, size);
    const out = Buffer.alloc(size * size * 3);
    for (let i = 0; i < size * size; i++) {
      const [r, g, b] = heat(up[i]);
      const a = 0.25 + 0.45 * up[i];
      const grey = (base[3 * i] + base[3 * i + 1] + base[3 * i + 2]) / 3;
      out[3 * i] = (1 - a) * grey + a * r;
      out[3 * i + 1] = (1 - a) * grey + a * g;
      out[3 * i + 2] = (1 - a) * grey + a * b;
    }
    return pngUri(out, size);
  };
  return { photo: await pngUri(base, size), cls: await overlay(ex.cam_cls), cap: await overlay(ex.cam_cap) };
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2430;margin:24px auto;max-width:1180px;padding:0 16px;background:#fbfbfd}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
.meta{color:#667;font-size:12px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;background:#fff}
th,td{padding:4px 9px;border-bottom:1px solid #e4e6ee;text-align:right}th{background:#f1f3f8;font-weight:600}
td.l,th.l{text-align:left}.rel{display:block;font-size:11px;color:#889}.up{color:#1a7f37}.down{color:#c62828}
tr.base td{background:#f8f9fc}
.charts{display:flex;flex-wrap:wrap;gap:14px}.chart{background:#fff;border:1px solid #e4e6ee;border-radius:6px}
.ct{font-size:12px;font-weight:600;fill:#1d2430}.tick{font-size:10px;fill:#556}.grid{stroke:#eceef4}.axis{stroke:#99a}
.cams{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.cam{background:#fff;border:1px solid #e4e6ee;border-radius:6px;padding:8px}
.cam figure{display:inline-block;margin:0 6px 0 0;text-align:center;font-size:11px;color:#556}
.cam img{display:block;width:128px;height:128px;border-radius:4px;image-rendering:auto}
.cap{font-size:12px;margin-top:4px}.hit{color:#1a7f37}.miss{color:#c62828}
`;

export interface ReportInput {
  runs: ReportRun[];
  table1?: SplitSummary[];
  title?: string;
  generatedAt?: string;
}

/** The self-contained HTML report. */
export async function renderReportHtml(input: ReportInput): Promise<string> {
  const { runs } = input;
  const { rows, baselines } = table2(runs);
  const h: string[] = [];
  h.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`);
  h.push(`<title>${esc(input.title ?? 'Plumage run report')}</title><style>${CSS}</style></head><body>`);
  h.push(`<h1>${esc(input.title ?? 'Plumage run report')}</h1>`);
  h.push(
    `<div class="meta">${runs.length} run(s) · generated ${esc(input.generatedAt ?? new Date().toISOString())} · test split: ${esc(
      [...new Set(runs.map((r) => `${r.metrics.split.scheme}/${r.metrics.split.part}`))].join(', '),
    )} · captions: ${esc([...new Set(runs.map((r) => r.metrics.decode))].join(', '))} decoding</div>`,
  );

  h.push(`<h2>Table 2 — classification and captioning</h2>`);
  h.push(`<table aria-label="Table 2"><thead><tr><th class="l">run</th><th class="l">variant</th>`);
  for (const c of TABLE2_COLUMNS) h.push(`<th>${esc(c.label)}${c.pct ? ' %' : ''}</th>`);
  h.push(`</tr></thead><tbody>`);
  for (const r of rows) {
    const isBase = r.run === baselines.cnn || r.run === baselines.lrcn;
    h.push(`<tr${isBase ? ' class="base"' : ''}><td class="l">${esc(r.run)}</td><td class="l">${esc(r.variant)}</td>`);
    r.values.forEach((v, i) => {
      const rel = r.relative[i];
      const relHtml = rel === null ? '' : `<span class="rel ${rel >= 0 ? 'up' : 'down'}">${fmtRel(rel)}</span>`;
      h.push(`<td>${fmtValue(v, TABLE2_COLUMNS[i].pct)}${relHtml}</td>`);
    });
    h.push(`</tr>`);
  }
  h.push(`</tbody></table>`);
  h.push(
    `<div class="meta">Relative improvement over the baselines: cnn run ${esc(baselines.cnn ?? '(none)')} for top-1/top-5, lrcn run ${esc(
      baselines.lrcn ?? '(none)',
    )} for caption metrics. CAM agreement / pointing: ${runs
      .map((r) => `${esc(r.run.id)} ${r.metrics.cam_agreement === null ? '—' : r.metrics.cam_agreement.toFixed(3)} / ${r.metrics.pointing === null ? '—' : (100 * r.metrics.pointing).toFixed(1) + '%'}`)
      .join(' · ')}</div>`,
  );

  if (input.table1?.length) {
    h.push(`<h2>Table 1 — split sizes</h2><table aria-label="Table 1"><thead><tr><th class="l">scheme</th><th class="l">part</th><th>classes</th><th>images</th></tr></thead><tbody>`);
    for (const s of input.table1) for (const p of s.parts) h.push(`<tr><td class="l">${esc(s.scheme)}</td><td class="l">${esc(p.part)}</td><td>${p.classes}</td><td>${p.images}</td></tr>`);
    h.push(`</tbody></table>`);
  }

  const curves = runs
    .map((r) => {
      const s = [...epochSeries(r.run.epochs).entries()].filter(([k]) => /loss/i.test(k)).map(([name, points]) => ({ name: name.replace(/^loss\./, ''), points }));
      return s.length ? lineChart(`${r.run.id} (${r.run.variant}) training losses`, s) : '';
    })
    .filter(Boolean);
  if (curves.length) h.push(`<h2>Loss curves</h2><div class="charts">${curves.join('')}</div>`);

  const pc = perClassChart(runs);
  if (pc) h.push(`<h2>Per-class top-1 accuracy</h2><div class="charts">${pc}</div>`);

  const camRuns = runs.filter((r) => r.metrics.cam_examples?.some((e) => e.cam_cls || e.cam_cap));
  if (camRuns.length) {
    h.push(`<h2>Where the models look — classifier vs captioner Grad-CAM</h2><div class="cams">`);
    for (const r of camRuns) {
      for (const ex of r.metrics.cam_examples.slice(0, 4)) {
        const im = await camImages(ex);
        h.push(`<div class="cam"><div class="meta">${esc(r.run.id)} (${esc(r.run.variant)}) · ${esc(ex.file)}</div>`);
        h.push(`<figure><img alt="${esc(ex.file)}" src="${im.photo}"><figcaption>photo${ex.true_class ? ` · ${esc(ex.true_class)}` : ''}</figcaption></figure>`);
        if (im.cls) h.push(`<figure><img alt="classifier CAM of ${esc(ex.file)}" src="${im.cls}"><figcaption>classifier: ${esc(ex.pred_class ?? '?')}</figcaption></figure>`);
        if (im.cap) h.push(`<figure><img alt="captioner CAM of ${esc(ex.file)}" src="${im.cap}"><figcaption>captioner</figcaption></figure>`);
        if (ex.caption !== null) h.push(`<div class="cap">“${esc(ex.caption)}”</div>`);
        if (ex.hit !== null) h.push(`<div class="cap ${ex.hit ? 'hit' : 'miss'}">pointing: ${ex.hit ? 'peak on a part' : 'peak off the parts'}</div>`);
        h.push(`</div>`);
      }
    }
    h.push(`</div>`);
  }

  const worstRuns = runs.filter((r) => r.metrics.worst?.length);
  if (worstRuns.length) {
    h.push(`<h2>Worst-captioned test images (CIDEr-D)</h2><table aria-label="worst captions"><thead><tr><th class="l">run</th><th class="l">image</th><th>CIDEr</th><th class="l">generated</th><th class="l">a reference</th></tr></thead><tbody>`);
    for (const r of worstRuns)
      for (const w of r.metrics.worst.slice(0, 5))
        h.push(`<tr><td class="l">${esc(r.run.id)}</td><td class="l">${esc(w.file)}</td><td>${w.cider.toFixed(3)}</td><td class="l">${esc(w.candidate)}</td><td class="l">${esc(w.references[0] ?? '')}</td></tr>`);
    h.push(`</tbody></table>`);
  }
  h.push(`</body></html>`);
  return h.join('\n');
}
