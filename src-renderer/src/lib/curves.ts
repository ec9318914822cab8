/**
 * Live training curves as SVG polylines: each series is scaled into the same plot box (shared
 * y-range, so losses are comparable). Pure; the Retrain panel renders the result.
 */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface Plot {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  paths: { name: string; d: string }[];
}

export function plot(series: Series[], width: number, height: number, pad = 4): Plot {
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (!all.length) return { xMin: 0, xMax: 1, yMin: 0, yMax: 1, paths: series.map((s) => ({ name: s.name, d: '' })) };
  const xMin = Math.min(...all.map((p) => p.x));
  let xMax = Math.max(...all.map((p) => p.x));
  const yMin = Math.min(0, ...all.map((p) => p.y));
  let yMax = Math.max(...all.map((p) => p.y));
  if (xMax === xMin) xMax = xMin + 1;
  if (yMax === yMin) yMax = yMin + 1;
  const sx = (x: number) => pad + ((x - xMin) / (xMax - xMin)) * (width - 2 * pad);
  const sy = (y: number) => height - pad - ((y - yMin) / (yMax - yMin)) * (height - 2 * pad);
  const paths = series.map((s) => ({
    name: s.name,
    d: s.points
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join(' '),
  }));
  return { xMin, xMax, yMin, yMax, paths };
}

/** Relative change a→b as a signed percentage string ("+12.5 %"), or '' when undefined. */
export function relative(v: number | null): string {
  if (v == null || !Number.isFinite(v)) return '';
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %`;
}
