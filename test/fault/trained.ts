import { join, resolve } from 'node:path';
import { importDataset } from '../../src-main/data/importers/index.ts';
import { openDb } from '../../src-main/data/store.ts';
import { writeSynth } from '../../src-main/data/synth/write-cub.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { runExtract } from '../../src-main/jobs/extract.ts';
import { withRecipe } from '../../src-main/jobs/train/config.ts';
import { runTraining } from '../../src-main/jobs/train/loop.ts';
import { resolveEncoder, type LoadedEncoder } from '../../src-main/ml/encoders/load.ts';

/** The small real encoder (MobileNetV2 0.35, TF.js layers) beside the repository. */
export const TM = resolve(process.cwd(), '../shared/encoders/mobilenet_v2_035_tm');

/** One small training setting, as CLI flags (the killed children) and as the config they make (references here). */
export const TRAIN_ARGS = ['--variant', 'medi', '--dims', 'tiny', '--epochs', '3', '--batch', '4', '--optimizer', 'adam', '--lr', '0.002', '--clip', '2', '--seed', '5', '--patience', '9'];
export const TRAIN_CONFIG = withRecipe('standard', { variant: 'medi' as const, dims: 'tiny' as const, epochs: 3, batch: 4, optimizer: 'adam' as const, lr: 0.002, clip: 2, seed: 5, patience: 9 });

export interface TrainedWorkspace {
  /** The workspace's home: synthetic birds imported, features cached, one run trained. */
  home: string;
  /** The synthetic CUB_200_2011 folder it was imported from (3 species × 4 photos, 64 px). */
  cub: string;
  captionsDir: string;
  /** The run (medi, tiny dimensions, one epoch): captions and species. */
  run: string;
  /** The encoder, loaded once (dispose it after the tests). */
  encoder: LoadedEncoder;
}

/** Makes a tiny trained workspace under `root` (about 10–20 s on two busy cores). */
export async function trainedWorkspace(root: string): Promise<TrainedWorkspace> {
  await writeSynth({ out: join(root, 'synth'), species: 3, perSpecies: 4, size: 64, seed: 3 });
  const cub = join(root, 'synth', 'CUB_200_2011');
  const captionsDir = join(root, 'synth', 'text_c10');
  const home = join(root, 'base');
  const ws = workspace(home);
  const db = openDb(ws.dbPath);
  await importDataset(db, ws, 'cub', cub, { captions: captionsDir });
  db.close();
  const encoder = await resolveEncoder(ws.encoders, { encoderPath: TM });
  await runExtract({ home, loaded: encoder });
  const run = (await runTraining({ home, config: { ...TRAIN_CONFIG, epochs: 1 } })).run;
  return { home, cub, captionsDir, run, encoder };
}
