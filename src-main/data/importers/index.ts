import type { Db } from '../store.ts';
import type { Workspace } from '../workspace.ts';
import { planCoco } from './coco.ts';
import { planCub } from './cub.ts';
import { writePlan } from './engine.ts';
import { planFlowers } from './flowers.ts';
import { planFolder } from './folder.ts';
import type { ImporterKind, ImportOptions, ImportPlan, ImportResult } from './types.ts';
import { invalidRequest } from '../../util/errors.ts';

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
  return writePlan(db, ws, plan, opts);
}

/** The job-shaped entry point the api layer calls ('import:start'): progress callback and AbortSignal. */
export function runImport(
  db: Db,
  ws: Workspace,
  req: {
    kind: ImporterKind;
    path: string;
    captions?: string;
    name?: string;
    images?: string;
    thumbnails?: boolean;
    progress?: (done: number, total: number, message?: string) => void;
    signal?: AbortSignal;
  },
): Promise<ImportResult> {
  if (!isImporterKind(req.kind)) throw invalidRequest(`unknown import format '${String(req.kind)}'`);
  return importDataset(db, ws, req.kind, req.path, {
    captions: req.captions,
    name: req.name,
    images: req.images,
    thumbnails: req.thumbnails,
    signal: req.signal,
    onProgress: req.progress ? (done, total) => req.progress!(done, total, `import ${req.kind}`) : undefined,
  });
}
