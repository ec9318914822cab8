import { resolve } from 'node:path';
import { z } from 'zod';
import { findCollection, listCollections } from '../../data/collections.ts';
import { exportCoco, exportCsv } from '../../data/exporters.ts';
import { makeDefaultSplit, makePaperSplit, type SplitSummary } from '../../data/splits.ts';
import { workspaceStats } from '../../data/stats.ts';
import { invalidRequest, unavailable } from '../../util/errors.ts';
import type { OpContext } from './context.ts';
import { name, path } from './schemas.ts';

/** A split's Table 1 summary as text lines (what `plumage split` prints). */
export { formatSummary } from '../../data/splits.ts';

/** A collection by id or name; absent = all of them. */
const collection = z.union([z.string().min(1).max(200), z.number().int().positive()]).optional();

function chooseCollections(ctx: OpContext, which: string | number | undefined) {
  const cols = which === undefined ? listCollections(ctx.db) : [findCollection(ctx.db, String(which))];
  if (!cols.length) throw unavailable('the workspace has no collections: import one first');
  return cols;
}

export const splitRequest = z
  .strictObject({
    scheme: z.enum(['default', 'paper']).default('default'),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
    val: z.number().min(0).max(1).default(0.1),
    test: z.number().min(0).max(1).default(0.2),
    collection,
  })
  .refine((r) => r.val + r.test < 1, { message: 'val + test must be below 1', path: ['test'] });
export type SplitRequest = z.infer<typeof splitRequest>;

/** Makes a train/val/test split of each chosen collection (random stratified, or the paper's protocol). */
export function makeSplits(ctx: OpContext, req: SplitRequest): { scheme: string; seed: number; splits: SplitSummary[] } {
  const make = req.scheme === 'paper' ? makePaperSplit : makeDefaultSplit;
  const splits = chooseCollections(ctx, req.collection).map((c) => make(ctx.db, c.id, req.seed, { val: req.val, test: req.test }));
  return { scheme: req.scheme, seed: req.seed, splits };
}

export const exportRequest = z.strictObject({
  format: z.enum(['coco', 'csv']),
  file: path,
  collection,
  scheme: name.default('default'),
});
export type ExportRequest = z.infer<typeof exportRequest>;

/** Writes labels and captions as COCO-captions JSON (one collection) or CSV (one or more). */
export function exportLabels(ctx: OpContext, req: ExportRequest) {
  const chosen = chooseCollections(ctx, req.collection);
  const out = resolve(req.file);
  if (req.format === 'csv') {
    const r = exportCsv(ctx.db, chosen, out, req.scheme);
    return { file: out, format: req.format, collections: chosen.map((c) => c.id), ...r };
  }
  if (chosen.length > 1) {
    const all = chosen.map((c) => `${c.id} ${c.name}`).join(', ');
    throw invalidRequest(`the workspace has ${chosen.length} collections: pick one with --collection ID (${all})`);
  }
  const r = exportCoco(ctx.db, chosen[0], out, req.scheme);
  return { file: out, format: req.format, collection: chosen[0].id, ...r };
}

export const statsRequest = z.strictObject({});

/** The workspace summary: collections, images, classes, captions by provenance, labels, splits, runs. */
export function workspaceSummary(ctx: OpContext) {
  return workspaceStats(ctx.db);
}
