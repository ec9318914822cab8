/**
 * Synthetic-bird generation speed: `plumage synth` end to end (draw, caption, JPEG-encode, write
 * every file) for the default demo dataset, 12 species × 40 images at 128 px, into a temporary
 * folder. Target: at least 50 images/s on the 2-core dev machine. Prints one JSON line;
 * `--quick` uses 12 × 10 images.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSynth } from '../src-main/data/synth/write-cub.ts';

export async function benchSynth(opts: { species?: number; perSpecies?: number; size?: number } = {}) {
  const species = opts.species ?? 12;
  const perSpecies = opts.perSpecies ?? 40;
  const size = opts.size ?? 128;
  const out = mkdtempSync(join(tmpdir(), 'plumage-bench-synth-'));
  try {
    const t0 = performance.now();
    const r = await writeSynth({ out, species, perSpecies, size, seed: 1 });
    const secs = (performance.now() - t0) / 1000;
    return {
      bench: 'synth',
      size,
      images: r.images,
      captions: r.captions,
      seconds: Number(secs.toFixed(3)),
      images_per_s: Number((r.images / secs).toFixed(1)),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  process.stdout.write(JSON.stringify(await benchSynth({ perSpecies: quick ? 10 : 40 })) + '\n');
}
