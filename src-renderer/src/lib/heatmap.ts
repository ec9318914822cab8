/**
 * Heat-map pixels for the CAM overlays: a small H×W map (values in [0,1]) is upsampled bilinearly
 * to the photo's display size and coloured with a colour map; values under the threshold are
 * transparent so the photo shows through. Pure functions (unit-tested in node).
 */
export type ColourMap = 'turbo' | 'jet' | 'inferno' | 'grey';
export const COLOUR_MAPS: ColourMap[] = ['turbo', 'jet', 'inferno', 'grey'];

/** Bilinear sample of a row-major H×W map at output pixel centres (align-corners off, like CSS). */
export function upsampleBilinear(map: ArrayLike<number>, H: number, W: number, outW: number, outH: number): Float32Array {
  const out = new Float32Array(outW * outH);
  if (!H || !W || map.length < H * W) return out;
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(H - 1, Math.max(0, ((y + 0.5) * H) / outH - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(H - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(W - 1, Math.max(0, ((x + 0.5) * W) / outW - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(W - 1, x0 + 1);
      const fx = sx - x0;
      const top = map[y0 * W + x0] * (1 - fx) + map[y0 * W + x1] * fx;
      const bot = map[y1 * W + x0] * (1 - fx) + map[y1 * W + x1] * fx;
      out[y * outW + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Google's turbo colour map, polynomial approximation (Mikhailov 2019). */
function turbo(t: number): [number, number, number] {
  const r = 0.13572138 + t * (4.6153926 + t * (-42.66032258 + t * (132.13108234 + t * (-152.94239396 + t * 59.28637943))));
  const g = 0.09140261 + t * (2.19418839 + t * (4.84296658 + t * (-14.18503333 + t * (4.27729857 + t * 2.82956604))));
  const b = 0.1066733 + t * (12.64194608 + t * (-60.58204836 + t * (110.36276771 + t * (-89.90310912 + t * 27.34824973))));
  return [clamp01(r) * 255, clamp01(g) * 255, clamp01(b) * 255];
}

function jet(t: number): [number, number, number] {
  const f = (x: number) => clamp01(1.5 - Math.abs(4 * t - x)) * 255;
  return [f(3), f(2), f(1)];
}

/** Inferno, piecewise-linear through five of matplotlib's stops. */
const INFERNO: [number, number, number][] = [
  [0, 0, 4],
  [87, 16, 110],
  [188, 55, 84],
  [249, 142, 9],
  [252, 255, 164],
];
function inferno(t: number): [number, number, number] {
  const s = t * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(s));
  const f = s - i;
  const a = INFERNO[i];
  const b = INFERNO[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

export function colour(name: ColourMap, t: number): [number, number, number] {
  const v = clamp01(t);
  if (name === 'jet') return jet(v);
  if (name === 'inferno') return inferno(v);
  if (name === 'grey') return [v * 255, v * 255, v * 255];
  return turbo(v);
}

export interface HeatOptions {
  colourMap: ColourMap;
  /** Values below this are fully transparent. */
  threshold: number;
}

/**
 * RGBA pixels (outW×outH) of the coloured heat map. Alpha grows with the value, so the hot region
 * dominates and the cold one stays see-through; the layer's opacity slider scales it all.
 */
export function heatPixels(map: ArrayLike<number>, H: number, W: number, outW: number, outH: number, opts: HeatOptions): Uint8ClampedArray<ArrayBuffer> {
  const up = upsampleBilinear(map, H, W, outW, outH);
  const px = new Uint8ClampedArray(outW * outH * 4);
  const lut: [number, number, number][] = [];
  for (let i = 0; i < 256; i++) lut.push(colour(opts.colourMap, i / 255));
  for (let i = 0; i < up.length; i++) {
    const v = clamp01(up[i]);
    if (v < opts.threshold || v <= 0) continue;
    const c = lut[Math.round(v * 255)];
    px[i * 4] = c[0];
    px[i * 4 + 1] = c[1];
    px[i * 4 + 2] = c[2];
    px[i * 4 + 3] = Math.round(255 * (0.35 + 0.65 * v));
  }
  return px;
}

/** Min-max normalisation (a word CAM may not be normalised); a flat map becomes zeros. */
export function normalise(map: ArrayLike<number>): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    lo = Math.min(lo, map[i]);
    hi = Math.max(hi, map[i]);
  }
  const span = hi - lo;
  return Array.from(map, (v) => (span > 1e-12 ? (v - lo) / span : 0));
}

/** Fits a w×h picture into a box (contain), centred: position and size in box pixels. */
export function fitRect(w: number, h: number, boxW: number, boxH: number): { x: number; y: number; width: number; height: number } {
  if (!w || !h || !boxW || !boxH) return { x: 0, y: 0, width: 0, height: 0 };
  const s = Math.min(boxW / w, boxH / h);
  const width = w * s;
  const height = h * s;
  return { x: (boxW - width) / 2, y: (boxH - height) / 2, width, height };
}

/** The mask painting tool of the heat-map view. */
export type Tool = 'none' | 'brush' | 'eraser';

/** A map with nothing to show: empty, or every value the same (an all-zero CAM draws as a blank panel). */
export function isFlat(map: ArrayLike<number>): boolean {
  if (!map.length) return true;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    lo = Math.min(lo, map[i]);
    hi = Math.max(hi, map[i]);
  }
  return !(hi - lo > 1e-9);
}

/** A CSS linear-gradient of a colour map, low (left) to high (right), for the colour legend. */
export function legendGradient(name: ColourMap, steps = 8): string {
  const stops = Array.from({ length: steps + 1 }, (_, i) => {
    const [r, g, b] = colour(name, i / steps);
    return `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)}) ${((100 * i) / steps).toFixed(1)}%`;
  });
  return `linear-gradient(to right, ${stops.join(', ')})`;
}
