/**
 * Seeded pseudo-random numbers: the one place where Plumage's generators live (never Math.random
 * where a result must be reproducible). Two algorithms, kept apart on purpose because outputs that
 * tests and saved data rely on were produced with each:
 *
 * - mulberry32 (one 32-bit word of state): split assignments (data/splits.ts), model initialisation
 *   (ml/model.ts) and the training shuffle, whose state is checkpointed for resume.
 * - sfc32 (four words, seeded by murmur3-mixing several integers): the synthetic-bird generator,
 *   where every drawn byte must be the same for the same arguments.
 */

// ---------------------------------------------------------------------------------------------
// Seed derivation

/** Mixes any number of 32-bit integers into one well-scrambled 32-bit seed (murmur3 finaliser). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let k = Math.imul(p | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit FNV-1a of a string: derives an independent stream from a text key, e.g. `${seed}:${class}`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// mulberry32

/** One mulberry32 step: the next state and its output in [0, 1). */
function mulberry32Step(state: number): [next: number, value: number] {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [next, ((t ^ (t >>> 14)) >>> 0) / 4294967296];
}

/** mulberry32 as a function: small, fast, same seed → same sequence on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    let v: number;
    [a, v] = mulberry32Step(a);
    return v;
  };
}

/** mulberry32 with its 32-bit state in the open, so it can be saved (e.g. in a resume checkpoint). */
export class Mulberry32 {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let v: number;
    [this.state, v] = mulberry32Step(this.state);
    return v;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates shuffle of a copy. */
  shuffle<T>(xs: readonly T[]): T[] {
    return shuffled(xs, () => this.next());
  }
}

/** Fisher–Yates shuffle of a copy, drawing from any uniform [0, 1) source. */
export function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// sfc32

/** sfc32: small, fast and statistically sound; the state is four 32-bit words. */
export class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seed: number[]) {
    this.a = mixSeed(1, ...seed);
    this.b = mixSeed(2, ...seed);
    this.c = mixSeed(3, ...seed);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32(); // warm up: early outputs of sfc32 are correlated with the seed
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Approximately normal (sum of uniforms), mean 0, standard deviation sd. */
  normal(sd = 1): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508 * sd;
  }

  /** Fisher–Yates shuffle of a copy. */
  shuffled<T>(items: readonly T[]): T[] {
    return shuffled(items, () => this.next());
  }

  /** k distinct items in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.shuffled(items).slice(0, Math.min(k, items.length));
  }
}
