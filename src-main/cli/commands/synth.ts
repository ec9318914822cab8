/**
 * `plumage synth --out DIR --species N --per-species M --size PX --seed S [--json]`
 * Writes synthetic birds in the CUB-200-2011 layout with Reed-style text_c10 captions (docs/design.md: Data).
 */
import { synthRequest, writeSynthBirds } from '../../api/ops/synth.ts';
import type { Command } from '../context.ts';
import { jobPrinter } from '../progress.ts';
import { parseRequest } from '../request.ts';

export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: synthRequest,
    usage: 'usage: plumage synth --out DIR [--species N] [--per-species M] [--size PX] [--seed S]',
  });
  const s = await writeSynthBirds(request, { signal: new AbortController().signal, emit: jobPrinter(ctx.err) });
  ctx.log(
    `wrote ${s.images} images of ${s.species} species (${s.captions} captions) to ${s.out} ` +
      `in ${s.seconds.toFixed(1)} s (${(s.images / Math.max(s.seconds, 1e-3)).toFixed(0)} images/s)`,
  );
  return { out: s.out, images: s.images, species: s.species, captions: s.captions };
};
