/**
 * Caption-metric speed: 10,000 images × 10 references (budget in docs/design.md: Metrics: under 5 s on the
 * 2-core dev machine), all seven metrics including METEOR with WordNet (loaded lazily; its
 * load time is part of the measurement). Prints one JSON line; `--quick` uses 1,000 images.
 */
import { fileURLToPath } from 'node:url';
import { scoreCaptions } from '../src-main/ml/metrics/index.ts';

const WORDS = {
  size: ['small', 'large', 'tiny', 'medium sized', 'big'],
  colour: ['red', 'yellow', 'grey', 'gray', 'black', 'white', 'brown', 'blue', 'orange', 'green'],
  part: ['crown', 'wings', 'breast', 'belly', 'beak', 'bill', 'tail', 'nape', 'throat', 'feet'],
  frame: [
    'this {size} bird has a {colour} {part} and {colour} {part}',
    'a {size} {colour} bird with a {colour} {part}',
    'the bird has {colour} {part} and a short {colour} {part}',
    'this bird is {colour} with {colour} {part} and a pointed {part}',
    'a {colour} and {colour} bird with {size} {part}',
  ],
};

/** Deterministic synthetic corpus (LCG), so runs are comparable. */
export function makeCorpus(images: number, refsPer: number, seed = 1) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const sentence = () =>
    pick(WORDS.frame).replace(/\{(\w+)\}/g, (_, k: 'size' | 'colour' | 'part') => pick(WORDS[k]));
  const refs: Record<string, string[]> = {};
  const cands: Record<string, string> = {};
  for (let i = 0; i < images; i++) {
    refs[i] = Array.from({ length: refsPer }, sentence);
    cands[i] = sentence();
  }
  return { refs, cands };
}

export function benchMetrics(images = 10_000, refsPer = 10) {
  const { refs, cands } = makeCorpus(images, refsPer);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const s = scoreCaptions(refs, cands);
  const ms = Math.round(performance.now() - t0);
  // CPU time of this process too: on a shared machine wall time mostly measures the neighbours.
  const c = process.cpuUsage(c0);
  return { bench: 'metrics', images, refs: refsPer, ms, cpu_ms: Math.round((c.user + c.system) / 1000), cider: Number(s.cider.toFixed(4)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  process.stdout.write(JSON.stringify(benchMetrics(quick ? 1000 : 10_000, 10)) + '\n');
}
