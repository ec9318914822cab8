/**
 * A tiny anti-aliased rasteriser: filled ellipses and polygons into a supersampled RGB buffer, then
 * a box-filter downsample. Shapes report the horizontal spans they cover on each sample row, which
 * makes filling (and clipping one shape by another) a few array writes per row — far faster than
 * rendering SVG, and fully deterministic.
 */
import type { RGB } from './attributes.ts';

export type Vec = readonly [number, number];

/** Something that can be filled: a bounding box and the covered x-interval(s) on a horizontal line. */
export interface Shape {
  /** [minX, minY, maxX, maxY] in output pixels. */
  readonly bbox: readonly [number, number, number, number];
  /** Appends [x0, x1] pairs (x0 <= x1) covered on the line y to `out`. */
  spans(y: number, out: number[]): void;
}

/** An ellipse given by its centre and two (not necessarily perpendicular) half-axis vectors. */
export class Ellipse implements Shape {
  readonly bbox: [number, number, number, number];
  // Inverse of the matrix [u v]: maps (p - c) to unit-circle coordinates.
  private i00: number;
  private i01: number;
  private i10: number;
  private i11: number;

  constructor(
    readonly c: Vec,
    readonly u: Vec,
    readonly v: Vec,
  ) {
    const det = u[0] * v[1] - v[0] * u[1] || 1e-12;
    this.i00 = v[1] / det;
    this.i01 = -v[0] / det;
    this.i10 = -u[1] / det;
    this.i11 = u[0] / det;
    const ex = Math.hypot(u[0], v[0]);
    const ey = Math.hypot(u[1], v[1]);
    this.bbox = [c[0] - ex, c[1] - ey, c[0] + ex, c[1] + ey];
  }

  /** Axis-aligned-then-rotated ellipse: radii rx, ry, rotated by angle (radians). */
  static rotated(cx: number, cy: number, rx: number, ry: number, angle = 0): Ellipse {
    const co = Math.cos(angle);
    const si = Math.sin(angle);
    return new Ellipse([cx, cy], [rx * co, rx * si], [-ry * si, ry * co]);
  }

  spans(y: number, out: number[]): void {
    // Unit coords are affine in x along the line: (a, b) = A + x·B; solve |A + xB|² <= 1.
    const dy = y - this.c[1];
    const ax = -this.c[0] * this.i00 + dy * this.i01;
    const ay = -this.c[0] * this.i10 + dy * this.i11;
    const bx = this.i00;
    const by = this.i10;
    const qa = bx * bx + by * by;
    const qb = 2 * (ax * bx + ay * by);
    const qc = ax * ax + ay * ay - 1;
    const disc = qb * qb - 4 * qa * qc;
    if (disc < 0 || qa === 0) return;
    const r = Math.sqrt(disc);
    out.push((-qb - r) / (2 * qa), (-qb + r) / (2 * qa));
  }
}

/** A simple polygon, filled with the even–odd rule. */
export class Polygon implements Shape {
  readonly bbox: [number, number, number, number];
  private xs: Float64Array;
  private ys: Float64Array;

  constructor(points: readonly Vec[]) {
    this.xs = Float64Array.from(points, (p) => p[0]);
    this.ys = Float64Array.from(points, (p) => p[1]);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [x, y] of points) {
      x0 = Math.min(x0, x); y0 = Math.min(y0, y);
      x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
    this.bbox = [x0, y0, x1, y1];
  }

  spans(y: number, out: number[]): void {
    const n = this.xs.length;
    const hits: number[] = [];
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = this.ys[i];
      const yj = this.ys[j];
      if (yi > y !== yj > y) hits.push(this.xs[i] + ((y - yi) * (this.xs[j] - this.xs[i])) / (yj - yi));
    }
    if (hits.length < 2) return;
    hits.sort((a, b) => a - b);
    for (let k = 0; k + 1 < hits.length; k += 2) out.push(hits[k], hits[k + 1]);
  }
}

/** A straight stroke of width w with round ends, as a polygon plus two end discs. */
export function stroke(a: Vec, b: Vec, w0: number, w1 = w0): Shape[] {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy) || 1e-9;
  const nx = -dy / len;
  const ny = dx / len;
  const h0 = w0 / 2;
  const h1 = w1 / 2;
  return [
    new Polygon([
      [a[0] + nx * h0, a[1] + ny * h0],
      [b[0] + nx * h1, b[1] + ny * h1],
      [b[0] - nx * h1, b[1] - ny * h1],
      [a[0] - nx * h0, a[1] - ny * h0],
    ]),
    Ellipse.rotated(a[0], a[1], h0, h0),
    Ellipse.rotated(b[0], b[1], h1, h1),
  ];
}

/** Intersects two sorted-by-construction span lists (each a flat [x0, x1, …] array). */
function intersectSpans(a: number[], b: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i += 2)
    for (let j = 0; j < b.length; j += 2) {
      const lo = Math.max(a[i], b[j]);
      const hi = Math.min(a[i + 1], b[j + 1]);
      if (lo < hi) out.push(lo, hi);
    }
  return out;
}

/**
 * An RGB image rendered at `ss`× supersampling. Coordinates given to shapes are in output pixels;
 * sample (i, j) sits at ((i + 0.5) / ss, (j + 0.5) / ss). All canvases share one sample buffer
 * (reallocated when the size changes): draw one image at a time, from sky() to resolve().
 */
export class Canvas {
  readonly sw: number;
  readonly sh: number;
  /** Samples, RGB interleaved. Plain bytes: every value written is rounded and in range first. */
  readonly data: Uint8Array;
  /** Extent of everything filled while `track` is on (for bounding boxes), in output pixels. */
  tracked: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  track = false;
  private rowA: number[] = [];
  private rowB: number[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
    readonly ss = 2,
  ) {
    this.sw = width * ss;
    this.sh = height * ss;
    // Reusing one buffer per size avoids a large allocation (and GC pause) per image; the canvas
    // is always painted in full by sky() before anything else reads it.
    const n = this.sw * this.sh * 3;
    if (!scratch || scratch.length !== n) scratch = new Uint8Array(n);
    this.data = scratch;
  }

  /** Fills a shape with a colour at opacity alpha, optionally only where `clip` also covers. */
  fill(shape: Shape, color: RGB, alpha = 1, clip?: Shape): void {
    const ss = this.ss;
    const [bx0, by0, bx1, by1] = shape.bbox;
    const j0 = Math.max(0, Math.ceil(by0 * ss - 0.5));
    const j1 = Math.min(this.sh - 1, Math.floor(by1 * ss - 0.5));
    const r = toByte(color[0]);
    const g = toByte(color[1]);
    const b = toByte(color[2]);
    const d = this.data;
    for (let j = j0; j <= j1; j++) {
      const y = (j + 0.5) / ss;
      const a = this.rowA;
      a.length = 0;
      shape.spans(y, a);
      if (a.length === 0) continue;
      let spans = a;
      if (clip) {
        const c = this.rowB;
        c.length = 0;
        clip.spans(y, c);
        spans = intersectSpans(a, c);
      }
      for (let k = 0; k < spans.length; k += 2) {
        const x0 = Math.max(bx0, spans[k]);
        const x1 = Math.min(bx1, spans[k + 1]);
        const i0 = Math.max(0, Math.ceil(x0 * ss - 0.5));
        const i1 = Math.min(this.sw - 1, Math.floor(x1 * ss - 0.5));
        if (i1 < i0) continue;
        if (this.track) {
          const t = this.tracked;
          if (i0 / ss < t[0]) t[0] = i0 / ss;
          if ((i1 + 1) / ss > t[2]) t[2] = (i1 + 1) / ss;
          if (j / ss < t[1]) t[1] = j / ss;
          if ((j + 1) / ss > t[3]) t[3] = (j + 1) / ss;
        }
        let p = (j * this.sw + i0) * 3;
        if (alpha >= 1) {
          for (let i = i0; i <= i1; i++, p += 3) {
            d[p] = r;
            d[p + 1] = g;
            d[p + 2] = b;
          }
        } else {
          const keep = 1 - alpha;
          const ar = r * alpha + 0.5, ag = g * alpha + 0.5, ab = b * alpha + 0.5;
          for (let i = i0; i <= i1; i++, p += 3) {
            d[p] = d[p] * keep + ar;
            d[p + 1] = d[p + 1] * keep + ag;
            d[p + 2] = d[p + 2] * keep + ab;
          }
        }
      }
    }
  }

  /** Fills every shape of a list (a stroke, say) with one colour. */
  fillAll(shapes: readonly Shape[], color: RGB, alpha = 1, clip?: Shape): void {
    for (const s of shapes) this.fill(s, color, alpha, clip);
  }

  /**
   * Background in one pass: a vertical sky gradient, and below the curve `horizon(x)` (when given)
   * a ground gradient from `ground[0]` at the horizon to `ground[1]` at the bottom edge.
   */
  sky(top: RGB, bottom: RGB, horizon?: (x: number) => number, ground?: readonly [RGB, RGB]): void {
    const ss = this.ss;
    const d = this.data;
    const H = this.height;
    const hz = new Float64Array(this.sw).fill(Infinity);
    if (horizon && ground) for (let i = 0; i < this.sw; i++) hz[i] = horizon((i + 0.5) / ss);
    let p = 0;
    for (let j = 0; j < this.sh; j++) {
      const y = (j + 0.5) / ss;
      const t = y / H;
      const sr = toByte(top[0] + (bottom[0] - top[0]) * t);
      const sg = toByte(top[1] + (bottom[1] - top[1]) * t);
      const sb = toByte(top[2] + (bottom[2] - top[2]) * t);
      for (let i = 0; i < this.sw; i++, p += 3) {
        if (y > hz[i]) {
          const g = ground!;
          const u = Math.min(1, (y - hz[i]) / Math.max(1, H - hz[i]));
          d[p] = toByte(g[0][0] + (g[1][0] - g[0][0]) * u);
          d[p + 1] = toByte(g[0][1] + (g[1][1] - g[0][1]) * u);
          d[p + 2] = toByte(g[0][2] + (g[1][2] - g[0][2]) * u);
        } else {
          d[p] = sr;
          d[p + 1] = sg;
          d[p + 2] = sb;
        }
      }
    }
  }

  /**
   * Averages each ss×ss block into one output pixel, applying a per-channel gain and offset
   * (lighting) and a little deterministic sensor noise of amplitude `noiseAmp` seeded by `noiseSeed`.
   */
  resolve(gain: RGB = [1, 1, 1], offset: RGB = [0, 0, 0], noiseSeed = 1, noiseAmp = 0): Uint8Array {
    const ss = this.ss;
    const out = new Uint8Array(this.width * this.height * 3);
    const d = this.data;
    const norm = 1 / (ss * ss);
    const g0 = gain[0] * norm, g1 = gain[1] * norm, g2 = gain[2] * norm;
    // xorshift32 inline: a closure call per pixel costs more than the whole average.
    let ns = noiseSeed >>> 0 || 1;
    const nk = (2 * noiseAmp) / 4294967296;
    let q = 0;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++, q += 3) {
        let r = 0, g = 0, b = 0;
        for (let sy = 0; sy < ss; sy++) {
          let p = ((y * ss + sy) * this.sw + x * ss) * 3;
          for (let sx = 0; sx < ss; sx++, p += 3) {
            r += d[p];
            g += d[p + 1];
            b += d[p + 2];
          }
        }
        ns ^= ns << 13;
        ns ^= ns >>> 17;
        ns ^= ns << 5;
        const n = (ns >>> 0) * nk - noiseAmp;
        out[q] = clampByte(r * g0 + offset[0] + n);
        out[q + 1] = clampByte(g * g1 + offset[1] + n);
        out[q + 2] = clampByte(b * g2 + offset[2] + n);
      }
    }
    return out;
  }
}

let scratch: Uint8Array | undefined;

/** Rounds and clamps a channel value to 0..255. */
function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}
