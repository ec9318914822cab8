import type { Db } from '../store.ts';
import type { Workspace } from '../workspace.ts';
import { planCoco } from './coco.ts';
import { planCub } from './cub.ts';
import { runImport } from './engine.ts';
import { planFlowers } from './flowers.ts';
import { planFolder } from './folder.ts';
import type { ImporterKind, ImportOptions, ImportPlan, ImportResult } from './types.ts';

export type { ImporterKind, ImportOptions, ImportResult, ImportError } from './types.ts';

export const IMPORTERS: Record<ImporterKind, (path: string, opts: ImportOptions) => ImportPlan> = {
  cub: planCub,
  flowers: planFlowers,
  folder: planFolder,
  coco: planCoco,
};

export function isImporterKind(k: string): k is ImporterKind {
  return Object.hasOwn(IMPORTERS, k);
}

/** Reads a dataset's metadata into a plan, then writes it (see engine.ts). */
export async function importDataset(
  db: Db,
  ws: Workspace,
  kind: ImporterKind,
  path: string,
  opts: ImportOptions = {},
): Promise<ImportResult> {
  const plan = IMPORTERS[kind](path, opts);
  return runImport(db, ws, plan, opts);
}
