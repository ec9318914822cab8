import { resolve } from 'node:path';
import { z } from 'zod';
import { checkSynthOptions, writeSynth, type SynthSummary } from '../../data/synth/write-cub.ts';
import type { JobIo } from './context.ts';
import { LIMITS } from './schemas.ts';

const required = '--out DIR is required';

/** Synthetic birds' options; the generator's own check (checkSynthOptions) gives the messages. */
export const synthRequest = z
  .strictObject({
    out: z.string({ error: required }).min(1, required).max(LIMITS.path),
    species: z.number().default(12),
    perSpecies: z.number().default(40),
    size: z.number().default(128),
    seed: z.number().default(1),
    quality: z.number().int().min(1).max(100).default(90),
  })
  .superRefine((o, ctx) => {
    const problem = checkSynthOptions(o);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
export type SynthRequest = z.infer<typeof synthRequest>;

/** Writes synthetic birds in the CUB-200-2011 layout with Reed-style text_c10 captions. */
export async function writeSynthBirds(req: SynthRequest, io: JobIo): Promise<SynthSummary & { seconds: number }> {
  const started = Date.now();
  const total = req.species * req.perSpecies;
  const summary = await writeSynth({ ...req, out: resolve(req.out) }, (done) =>
    io.emit({ type: 'progress', done, total, message: 'synth', unit: 'img' }),
  );
  return { ...summary, seconds: (Date.now() - started) / 1000 };
}
