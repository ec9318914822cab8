/**
 * `plumage synth --out DIR --species N --per-species M --size PX --seed S [--json]`
 * Writes synthetic birds in the CUB-200-2011 layout with Reed-style text_c10 captions (docs/design.md: Data).
 */
import { resolve } from 'node:path';
import { checkSynthOptions, writeSynth, type SynthOptions } from '../../data/synth/write-cub.ts';
import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { Progress } from '../progress.ts';

const DEFAULTS = { species: 12, perSpecies: 40, size: 128, seed: 1 };

/** Parses an integer option strictly ("12abc" and "1.5" are errors, not 12 and 1). */
function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[+-]?\d+$/.test(value.trim())) throw usageError(`--${name} must be an integer, got '${value}'`);
  return Number(value);
}

export const run: Command = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, {
    out: { type: 'string', short: 'o' },
    species: { type: 'string' },
    'per-species': { type: 'string' },
    size: { type: 'string' },
    seed: { type: 'string' },
    quality: { type: 'string' },
  });
  if (positionals.length) throw usageError(`unexpected argument '${positionals[0]}' (usage: plumage synth --out DIR [--species N] [--per-species M] [--size PX] [--seed S])`);
  if (!values.out) throw usageError('--out DIR is required (usage: plumage synth --out DIR [--species N] [--per-species M] [--size PX] [--seed S])');
  const opts: SynthOptions = {
    out: resolve(values.out),
    species: intOption('species', values.species, DEFAULTS.species),
    perSpecies: intOption('per-species', values['per-species'], DEFAULTS.perSpecies),
    size: intOption('size', values.size, DEFAULTS.size),
    seed: intOption('seed', values.seed, DEFAULTS.seed),
    quality: intOption('quality', values.quality, 90),
  };
  const problem = checkSynthOptions(opts);
  if (problem) throw usageError(problem);
  if (opts.quality! < 1 || opts.quality! > 100) throw usageError('--quality must be from 1 to 100');

  const total = opts.species * opts.perSpecies;
  const progress = new Progress('synth', total, 'img');
  const started = Date.now();
  const summary = await writeSynth(opts, (done) => progress.set(done));
  progress.finish();
  const secs = (Date.now() - started) / 1000;
  ctx.log(
    `wrote ${summary.images} images of ${summary.species} species (${summary.captions} captions) to ${summary.out} ` +
      `in ${secs.toFixed(1)} s (${(summary.images / Math.max(secs, 1e-3)).toFixed(0)} images/s)`,
  );
  return { out: summary.out, images: summary.images, species: summary.species, captions: summary.captions };
};
