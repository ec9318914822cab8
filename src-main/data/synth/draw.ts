/**
 * Draws one synthetic photo: a cluttered background (sky/ground gradients, out-of-focus blobs,
 * branches and leaves), a perch, and a bird built from parts whose colours, patterns and shapes are
 * the species' attributes. Returns the RGB pixels plus the ground truth a dataset needs: the pixel
 * position of every CUB part and the bird's bounding box.
 */
import { PALETTE, type BirdAttributes, type RGB } from './attributes.ts';
import { Canvas, Ellipse, Polygon, stroke, type Shape, type Vec } from './raster.ts';
import { Sfc32 } from '../../util/rng.ts';

/** The 15 CUB-200-2011 parts, in parts.txt order (ids 1..15). */
export const PART_NAMES = [
  'back', 'beak', 'belly', 'breast', 'crown', 'forehead', 'left eye', 'left leg',
  'left wing', 'nape', 'right eye', 'right leg', 'right wing', 'tail', 'throat',
] as const;
export type PartName = (typeof PART_NAMES)[number];

/** [x, y, visible] in output pixels; hidden parts are [0, 0, 0] as in CUB. */
export type PartLoc = [number, number, 0 | 1];

export interface Pose {
  /** Largest side of the bird's box as a fraction of the frame (0.5–0.9). */
  scale: number;
  /** Body tilt in degrees (head up is positive). */
  tilt: number;
  /** True when the bird faces left (mirrored). */
  flipped: boolean;
  /** Lighting: overall brightness gain and warm(+)/cool(−) tint. */
  brightness: number;
  tint: number;
}

export interface DrawnImage {
  rgb: Uint8Array;
  width: number;
  height: number;
  parts: Record<PartName, PartLoc>;
  /** [x, y, w, h] of the bird (perch excluded), in output pixels. */
  bbox: [number, number, number, number];
  pose: Pose;
}

type Op = { shapes: Shape[]; color: RGB; alpha?: number; clip?: Shape; bird?: boolean };

const SIZE_SCALE: Record<BirdAttributes['size'], [number, number]> = {
  small: [0.55, 0.7],
  medium: [0.62, 0.78],
  large: [0.72, 0.9],
};

function shade(c: RGB, k: number): RGB {
  return [Math.min(255, c[0] * k), Math.min(255, c[1] * k), Math.min(255, c[2] * k)];
}
function luminance(c: RGB): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}
/** The colour stripes and spots are drawn in: dark on light parts, light on dark ones. */
function contrast(c: RGB): RGB {
  return luminance(c) > 120 ? [28, 26, 24] : [238, 236, 228];
}
function jitter(rng: Sfc32, c: RGB, amount: number): RGB {
  return [c[0] + rng.normal(amount), c[1] + rng.normal(amount), c[2] + rng.normal(amount)];
}

/** Maps bird-local coordinates (x forward, y down, body length ≈ 1) to pixels. */
class BirdFrame {
  private m00: number;
  private m01: number;
  private m10: number;
  private m11: number;
  constructor(
    readonly ox: number,
    readonly oy: number,
    readonly s: number,
    tiltRad: number,
    readonly flip: boolean,
  ) {
    const co = Math.cos(-tiltRad) * s;
    const si = Math.sin(-tiltRad) * s;
    const f = flip ? -1 : 1;
    this.m00 = f * co;
    this.m01 = -f * si;
    this.m10 = si;
    this.m11 = co;
  }
  p(x: number, y: number): Vec {
    return [this.ox + this.m00 * x + this.m01 * y, this.oy + this.m10 * x + this.m11 * y];
  }
  lin(x: number, y: number): Vec {
    return [this.m00 * x + this.m01 * y, this.m10 * x + this.m11 * y];
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, angle = 0): Ellipse {
    const co = Math.cos(angle);
    const si = Math.sin(angle);
    return new Ellipse(this.p(cx, cy), this.lin(rx * co, rx * si), this.lin(-ry * si, ry * co));
  }
  poly(points: readonly Vec[]): Polygon {
    return new Polygon(points.map(([x, y]) => this.p(x, y)));
  }
}

interface BirdGeometry {
  ops: Op[];
  parts: Record<PartName, PartLoc>;
  /** Where the two feet touch the perch. */
  feet: Vec[];
}

/** Builds the bird's drawing operations (back to front) and its part positions for one pose. */
function buildBird(a: BirdAttributes, f: BirdFrame, rng: Sfc32, perchSlope: number): BirdGeometry {
  const ops: Op[] = [];
  const wing = PALETTE[a.wing_color];
  const back = shade(wing, 0.86);
  const tailC = PALETTE[a.tail_color];
  const legC = PALETTE[a.leg_color];
  const outline: RGB = shade(back, 0.55);

  // Legs hang vertically in the world (not the body frame) down to the perch.
  const s = f.s;
  const legTops = [f.p(-0.02, 0.24), f.p(0.14, 0.22)];
  const footY = Math.max(legTops[0][1], legTops[1][1]) + 0.24 * s;
  const feet: Vec[] = legTops.map(([x]) => [x, footY + perchSlope * (x - legTops[0][0])]);
  const dir = f.flip ? -1 : 1;
  for (let k = 0; k < 2; k++) {
    const c = k === 0 ? shade(legC, 0.75) : legC;
    ops.push({ shapes: stroke(legTops[k], feet[k], 0.035 * s), color: c, bird: true });
    for (const toe of [-0.09, 0.06, 0.11])
      ops.push({ shapes: stroke(feet[k], [feet[k][0] + dir * toe * s, feet[k][1] + 0.02 * s], 0.025 * s), color: c, bird: true });
  }

  // Tail: attached under the rump, pointing back and a little down.
  const tb: Vec = [-0.4, 0.04];
  const phi = 0.28;
  const td: Vec = [-Math.cos(phi), Math.sin(phi)];
  const tn: Vec = [-td[1], td[0]];
  const at = (t: number, n: number): Vec => [tb[0] + td[0] * t + tn[0] * n, tb[1] + td[1] * t + tn[1] * n];
  let tailPts: Vec[];
  let tailLen: number;
  if (a.tail_shape === 'forked') {
    tailLen = 0.55;
    tailPts = [at(0, 0.085), at(tailLen, 0.2), at(tailLen * 0.68, 0), at(tailLen, -0.2), at(0, -0.085)];
  } else if (a.tail_shape === 'long') {
    tailLen = 0.9;
    tailPts = [at(0, 0.075), at(tailLen - 0.06, 0.095), at(tailLen, 0.05), at(tailLen, -0.05), at(tailLen - 0.06, -0.095), at(0, -0.075)];
  } else {
    tailLen = 0.44;
    tailPts = [at(0, 0.085)];
    for (let k = 0; k <= 6; k++) {
      const th = Math.PI / 2 - (k * Math.PI) / 6;
      tailPts.push(at(tailLen - 0.12 + Math.cos(th) * 0.12, Math.sin(th) * 0.17));
    }
    tailPts.push(at(0, -0.085));
  }
  ops.push({ shapes: [f.poly(tailPts)], color: tailC, bird: true });
  ops.push({ shapes: stroke(f.p(...at(0.05, 0)), f.p(...at(tailLen * 0.85, 0)), 0.012 * s), color: shade(tailC, 0.7), alpha: 0.6, bird: true });

  // Body (upperparts in the back colour), then the underparts over it.
  const body = f.ellipse(0, 0, 0.5, 0.3);
  ops.push({ shapes: [f.ellipse(0, 0, 0.515, 0.315)], color: outline, bird: true });
  ops.push({ shapes: [body], color: back, bird: true });
  const bellyE = f.ellipse(-0.02, 0.2, 0.36, 0.16, -0.08);
  ops.push({ shapes: [bellyE], color: PALETTE[a.belly_color], clip: body, bird: true });
  const breastE = f.ellipse(0.3, 0.06, 0.24, 0.22, 0.3);
  const breastC = PALETTE[a.breast_color];
  ops.push({ shapes: [f.ellipse(0.38, -0.12, 0.2, 0.16, -0.6)], color: back, bird: true }); // neck
  ops.push({ shapes: [f.ellipse(0.44, -0.02, 0.16, 0.14, 0.4)], color: breastC, bird: true }); // throat joins breast
  ops.push({ shapes: [breastE], color: breastC, bird: true });
  if (a.breast_pattern !== 'plain') {
    const pc = contrast(breastC);
    for (let k = 0; k < 9; k++) {
      const cx = 0.33 + (k % 3) * 0.085 + rng.range(-0.02, 0.02);
      const cy = -0.03 + Math.floor(k / 3) * 0.09 + rng.range(-0.02, 0.02);
      const shapes = a.breast_pattern === 'spotted' ? [f.ellipse(cx, cy, 0.028, 0.028)] : stroke(f.p(cx, cy - 0.04), f.p(cx - 0.015, cy + 0.04), 0.022 * s);
      ops.push({ shapes, color: pc, clip: breastE, bird: true });
    }
  }
  // Soft shading on the underside gives the body some volume.
  ops.push({ shapes: [f.ellipse(-0.05, 0.24, 0.42, 0.1)], color: [0, 0, 0], alpha: 0.12, clip: body, bird: true });

  // Wing: folded along the side, tip over the tail.
  const wingE = f.ellipse(-0.16, -0.04, 0.44, 0.19, 0.16);
  ops.push({ shapes: [f.ellipse(-0.16, -0.04, 0.455, 0.205, 0.16)], color: shade(wing, 0.55), bird: true });
  ops.push({ shapes: [wingE], color: wing, bird: true });
  const wc = contrast(wing);
  if (a.wing_pattern === 'striped') {
    for (const x of [-0.02, -0.16, -0.3])
      ops.push({ shapes: stroke(f.p(x + 0.05, -0.3), f.p(x - 0.05, 0.2), 0.045 * s), color: wc, clip: wingE, bird: true });
  } else if (a.wing_pattern === 'spotted') {
    for (let k = 0; k < 10; k++) {
      const cx = 0.12 - (k % 5) * 0.12 + rng.range(-0.02, 0.02);
      const cy = -0.1 + Math.floor(k / 5) * 0.11 + rng.range(-0.02, 0.02);
      ops.push({ shapes: [f.ellipse(cx, cy, 0.032, 0.032)], color: wc, clip: wingE, bird: true });
    }
  }
  // Primary feathers: darker lines towards the wing tip.
  for (const dy of [-0.05, 0.02, 0.09])
    ops.push({ shapes: stroke(f.p(-0.25, -0.04 + dy * 0.6), f.p(-0.56, dy), 0.012 * s), color: shade(wing, 0.6), alpha: 0.7, clip: wingE, bird: true });

  // Head in the back colour, throat in the breast colour, crown cap on top.
  const head = f.ellipse(0.5, -0.26, 0.215, 0.205);
  ops.push({ shapes: [f.ellipse(0.5, -0.26, 0.23, 0.22)], color: outline, bird: true });
  ops.push({ shapes: [head], color: back, bird: true });
  ops.push({ shapes: [f.ellipse(0.62, -0.1, 0.16, 0.13, 0.4)], color: breastC, clip: head, bird: true });
  const crownC = PALETTE[a.crown_color];
  if (a.crest === 'yes')
    ops.push({
      shapes: [f.poly([[0.62, -0.44], [0.36, -0.94], [0.36, -0.7], [0.14, -0.9], [0.2, -0.64], [-0.02, -0.7], [0.28, -0.36]])],
      color: crownC,
      bird: true,
    });
  ops.push({ shapes: [f.ellipse(0.49, -0.41, 0.24, 0.15, 0.1)], color: crownC, clip: head, bird: true });

  // Eye (with optional ring) and bill.
  const eye: Vec = [0.6, -0.28];
  if (a.eye_ring !== 'none') ops.push({ shapes: [f.ellipse(eye[0], eye[1], 0.07, 0.07)], color: PALETTE[a.eye_ring], bird: true });
  ops.push({ shapes: [f.ellipse(eye[0], eye[1], 0.042, 0.042)], color: [12, 10, 10], bird: true });
  ops.push({ shapes: [f.ellipse(eye[0] + 0.012, eye[1] - 0.014, 0.012, 0.012)], color: [250, 250, 250], bird: true });
  const billC = PALETTE[a.bill_color];
  let billPts: Vec[];
  let billMid: Vec;
  if (a.bill_shape === 'short') {
    billPts = [[0.66, -0.35], [0.83, -0.28], [0.66, -0.19]];
    billMid = [0.76, -0.27];
  } else if (a.bill_shape === 'long') {
    billPts = [[0.67, -0.335], [1.22, -0.275], [1.22, -0.255], [0.67, -0.21]];
    billMid = [0.92, -0.27];
  } else {
    billPts = [[0.67, -0.34], [0.8, -0.33], [0.88, -0.28], [0.87, -0.18], [0.82, -0.235], [0.67, -0.21]];
    billMid = [0.77, -0.27];
  }
  ops.push({ shapes: [f.poly(billPts)], color: billC, bird: true });
  ops.push({ shapes: stroke(f.p(0.68, -0.27), f.p(billMid[0] + 0.04, -0.268), 0.008 * s), color: shade(billC, 0.5), alpha: 0.8, bird: true });

  // Part positions. Facing right we see the bird's right side (its left is away from us).
  const P = (x: number, y: number): PartLoc => {
    const [px, py] = f.p(x, y);
    return [px, py, 1];
  };
  const hidden: PartLoc = [0, 0, 0];
  const nearSide = f.flip ? 'left' : 'right';
  const legMid = (k: number): PartLoc => [(legTops[k][0] + feet[k][0]) / 2, (legTops[k][1] + feet[k][1]) / 2, 1];
  const eyeLoc = P(eye[0], eye[1]);
  const wingLoc = P(-0.16, -0.04);
  const parts: Record<PartName, PartLoc> = {
    back: P(-0.12, -0.22),
    beak: P(billMid[0], billMid[1]),
    belly: P(0.0, 0.2),
    breast: P(0.3, 0.08),
    crown: P(0.48, -0.42),
    forehead: P(0.64, -0.39),
    'left eye': nearSide === 'left' ? eyeLoc : hidden,
    // The leg nearer the viewer is drawn in front; CUB marks both legs when both are seen.
    'left leg': legMid(f.flip ? 1 : 0),
    'left wing': nearSide === 'left' ? wingLoc : hidden,
    nape: P(0.32, -0.36),
    'right eye': nearSide === 'right' ? eyeLoc : hidden,
    'right leg': legMid(f.flip ? 0 : 1),
    'right wing': nearSide === 'right' ? wingLoc : hidden,
    tail: P(...at(tailLen * 0.6, 0)),
    throat: P(0.62, -0.1),
  };
  return { ops, parts, feet };
}

function opsBox(ops: Op[]): [number, number, number, number] {
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const op of ops)
    if (op.bird)
      for (const s of op.shapes) {
        b[0] = Math.min(b[0], s.bbox[0]);
        b[1] = Math.min(b[1], s.bbox[1]);
        b[2] = Math.max(b[2], s.bbox[2]);
        b[3] = Math.max(b[3], s.bbox[3]);
      }
  return b;
}

const SKIES: ReadonlyArray<[RGB, RGB]> = [
  [[92, 150, 220], [196, 222, 245]],
  [[150, 170, 190], [220, 225, 230]],
  [[120, 170, 210], [235, 215, 180]],
  [[70, 110, 170], [170, 200, 225]],
  [[185, 195, 180], [225, 230, 210]],
];
const GROUNDS: ReadonlyArray<[RGB, RGB]> = [
  [[96, 130, 60], [50, 80, 34]],
  [[140, 120, 80], [90, 70, 45]],
  [[70, 110, 70], [35, 60, 40]],
  [[160, 150, 110], [110, 100, 70]],
];
const FOLIAGE: readonly RGB[] = [
  [60, 110, 45], [85, 135, 55], [40, 85, 40], [110, 140, 60], [130, 150, 70], [75, 100, 60], [150, 160, 90],
];
const AUTUMN: readonly RGB[] = [[190, 120, 40], [170, 70, 40], [200, 170, 60], [120, 80, 50]];
const BARK: readonly RGB[] = [[92, 68, 48], [110, 90, 70], [70, 56, 44], [120, 110, 100], [84, 74, 66]];

/** Background: gradient sky (and maybe ground), blurred blobs, branches with leaves. */
function drawBackground(cv: Canvas, rng: Sfc32): void {
  const W = cv.width;
  const H = cv.height;
  const [skyTop, skyBottom] = rng.pick(SKIES).map((c) => jitter(rng, c, 10)) as [RGB, RGB];
  const hasGround = rng.chance(0.6);
  const horizon = rng.range(0.55, 0.9) * H;
  const wave = rng.range(0.01, 0.05) * H;
  const waveK = rng.range(2, 8) / W;
  const [g0, g1] = rng.pick(GROUNDS).map((c) => jitter(rng, c, 12)) as [RGB, RGB];
  cv.sky(skyTop, skyBottom, hasGround ? (x) => horizon + wave * Math.sin(x * waveK) : undefined, [g0, g1]);
  // Out-of-focus foliage and random blobs.
  const blobs = 5 + rng.int(10);
  for (let k = 0; k < blobs; k++) {
    const c = rng.chance(0.8) ? rng.pick(FOLIAGE) : rng.pick(AUTUMN);
    const r = rng.range(0.06, 0.25) * W;
    cv.fill(Ellipse.rotated(rng.range(-0.1, 1.1) * W, rng.range(-0.1, 1.1) * H, r, r * rng.range(0.5, 1), rng.range(0, Math.PI)), jitter(rng, c, 15), rng.range(0.25, 0.7));
  }
  // Background branches with leaves.
  const branches = 1 + rng.int(3);
  for (let k = 0; k < branches; k++) drawBranch(cv, rng, rng.range(0.012, 0.035) * W, 0.6);
}

/** A branch entering from an edge, with twigs and leaves; `leafiness` scales how many leaves. */
function drawBranch(cv: Canvas, rng: Sfc32, width: number, leafiness: number, from?: Vec, to?: Vec): void {
  const W = cv.width;
  const H = cv.height;
  const a: Vec = from ?? (rng.chance(0.5) ? [rng.chance(0.5) ? -0.05 * W : 1.05 * W, rng.range(0, H)] : [rng.range(0, W), rng.chance(0.5) ? -0.05 * H : 1.05 * H]);
  const b: Vec = to ?? [rng.range(0.2, 0.8) * W, rng.range(0.2, 0.8) * H];
  const bark = jitter(rng, rng.pick(BARK), 8);
  cv.fillAll(stroke(a, b, width, width * 0.6), bark);
  cv.fillAll(stroke([a[0], a[1] - width * 0.2], [b[0], b[1] - width * 0.15], width * 0.25, width * 0.15), shade(bark, 1.25), 0.5);
  const twigs = rng.int(4);
  for (let k = 0; k < twigs; k++) {
    const t = rng.range(0.2, 0.9);
    const p: Vec = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
    const ang = rng.range(0, 2 * Math.PI);
    const len = rng.range(0.08, 0.25) * W;
    const q: Vec = [p[0] + Math.cos(ang) * len, p[1] + Math.sin(ang) * len];
    cv.fillAll(stroke(p, q, width * 0.5, width * 0.25), bark);
    drawLeaves(cv, rng, p, q, Math.round(rng.range(1, 5) * leafiness));
  }
  drawLeaves(cv, rng, a, b, Math.round(rng.range(0, 6) * leafiness));
}

function drawLeaves(cv: Canvas, rng: Sfc32, a: Vec, b: Vec, n: number): void {
  const W = cv.width;
  for (let k = 0; k < n; k++) {
    const t = rng.range(0.1, 1);
    const cx = a[0] + (b[0] - a[0]) * t + rng.normal(0.02 * W);
    const cy = a[1] + (b[1] - a[1]) * t + rng.normal(0.02 * W);
    const len = rng.range(0.03, 0.07) * W;
    const c = jitter(rng, rng.chance(0.85) ? rng.pick(FOLIAGE) : rng.pick(AUTUMN), 12);
    const ang = rng.range(0, Math.PI);
    cv.fill(Ellipse.rotated(cx, cy, len, len * 0.38, ang), c);
    cv.fillAll(stroke([cx - Math.cos(ang) * len * 0.8, cy - Math.sin(ang) * len * 0.8], [cx + Math.cos(ang) * len * 0.8, cy + Math.sin(ang) * len * 0.8], Math.max(0.5, len * 0.06)), shade(c, 0.7), 0.6);
  }
}

/** Draws one image of a bird with the given attributes; everything random comes from `rng`. */
export function drawBird(a: BirdAttributes, size: number, rng: Sfc32): DrawnImage {
  // 3×3 supersampling keeps thin parts (legs, bills) smooth at small sizes; 2×2 is enough above.
  const cv = new Canvas(size, size, size <= 192 ? 3 : 2);
  drawBackground(cv, rng);

  const [lo, hi] = SIZE_SCALE[a.size];
  const pose: Pose = {
    scale: rng.range(lo, hi),
    tilt: rng.range(12, 38),
    flipped: rng.chance(0.5),
    brightness: rng.range(0.78, 1.15),
    tint: rng.range(-0.07, 0.07),
  };
  const perchSlope = rng.range(-0.15, 0.15);
  // Lay the bird out once at unit scale to measure it, then scale and place it inside the frame.
  const probe = buildBird(a, new BirdFrame(0, 0, 1, (pose.tilt * Math.PI) / 180, pose.flipped), new Sfc32(0), perchSlope);
  const [bx0, by0, bx1, by1] = opsBox(probe.ops);
  const s = (pose.scale * size) / Math.max(bx1 - bx0, by1 - by0);
  const margin = 0.02 * size;
  const freeX = Math.max(0, size - 2 * margin - (bx1 - bx0) * s);
  const freeY = Math.max(0, size - 2 * margin - (by1 - by0) * s);
  const ox = margin + rng.next() * freeX - bx0 * s;
  const oy = margin + rng.next() * freeY - by0 * s;
  const frame = new BirdFrame(ox, oy, s, (pose.tilt * Math.PI) / 180, pose.flipped);
  const bird = buildBird(a, frame, rng, perchSlope);

  // The perch runs under the feet, from one edge of the frame (or most of the way) to the other.
  const [fx, fy] = bird.feet[0];
  const perchW = rng.range(0.035, 0.06) * size;
  const x0 = rng.chance(0.7) ? -0.05 * size : rng.range(0, Math.max(0, fx - 0.2 * size));
  const x1 = rng.chance(0.7) ? 1.05 * size : rng.range(Math.min(size, fx + 0.2 * size), size);
  const yAt = (x: number) => fy + perchSlope * (x - fx) + perchW * 0.45;
  drawBranch(cv, rng, perchW, 0.5, [x0, yAt(x0)], [x1, yAt(x1)]);

  cv.track = true;
  for (const op of bird.ops) cv.fillAll(op.shapes, op.color, op.alpha ?? 1, op.clip);
  cv.track = false;
  const t = cv.tracked;

  const b = pose.brightness;
  const rgb = cv.resolve([b * (1 + pose.tint), b, b * (1 - pose.tint)], [0, 0, 0], rng.u32(), 4);

  // Part centres lie on the bird, which is inside the frame; clamp only against float round-off.
  const parts = {} as Record<PartName, PartLoc>;
  for (const name of PART_NAMES) {
    const [x, y, v] = bird.parts[name];
    parts[name] = v ? [clamp(x, 0, size - 1), clamp(y, 0, size - 1), 1] : [0, 0, 0];
  }
  const bx = Math.max(0, Math.floor(t[0]));
  const by = Math.max(0, Math.floor(t[1]));
  const bbox: [number, number, number, number] = [bx, by, Math.min(size, Math.ceil(t[2])) - bx, Math.min(size, Math.ceil(t[3])) - by];
  return { rgb, width: size, height: size, parts, bbox, pose };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
