/**
 * "Try the demo data": synthetic birds (the `plumage synth` generator) written into the workspace
 * and imported as a fresh collection, so a newcomer sees a working gallery without a dataset.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeSynth } from '../data/synth/write-cub.ts';
import { runImport } from '../data/importers/index.ts';
import type { Db } from '../data/store.ts';
import type { Workspace } from '../data/workspace.ts';
import type { Progress } from '../jobs/registry.ts';

/** Small enough to generate in seconds on a laptop, big enough to train and review. */
export const DEMO_SIZE = { species: 6, perSpecies: 12, size: 128, seed: 1 } as const;

/** A folder name not used yet: "demo-birds", then "demo-birds-2", … (each demo is a fresh collection). */
function freshFolder(ws: Workspace): string {
  for (let n = 1; ; n++) {
    const p = join(ws.home, n === 1 ? 'demo-birds' : `demo-birds-${n}`);
    if (!existsSync(p)) return p;
  }
}

export async function importDemoBirds(db: Db, ws: Workspace, progress: Progress, signal: AbortSignal) {
  const out = freshFolder(ws);
  const total = DEMO_SIZE.species * DEMO_SIZE.perSpecies;
  await writeSynth({ out, ...DEMO_SIZE }, (done) => progress(done, total * 2, 'drawing demo birds'));
  signal.throwIfAborted();
  const name = out.endsWith('demo-birds') ? 'Demo birds' : `Demo birds ${out.split('-').pop()}`;
  return runImport(db, ws, {
    kind: 'cub',
    path: out,
    name,
    signal,
    progress: (done, all, message) => progress(total + (all ? (done / all) * total : 0), total * 2, message ?? 'importing demo birds'),
  });
}
