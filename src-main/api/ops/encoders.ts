import { z } from 'zod';
import { workspace } from '../../data/workspace.ts';
import { runExtract, type ExtractResult } from '../../jobs/extract.ts';
import { listEncoders } from '../../ml/encoders/load.ts';
import { DEFAULT_PREFERENCE, FALLBACK_ID } from '../../ml/encoders/registry.ts';
import { MAX_TILES } from '../../ml/encoders/tiles.ts';
import type { JobIo, OpContext } from './context.ts';
import { id, LIMITS, name, path } from './schemas.ts';

export const encodersRequest = z.strictObject({});

/**
 * The encoder registry with availability, provenance and size, and the default: the first
 * preferred encoder already cached, else the first one (downloaded on first use). Reads only the
 * encoders folder, so it never creates a workspace database.
 */
export function encoderRegistry(home: string) {
  const list = listEncoders(workspace(home).encoders);
  const cached = DEFAULT_PREFERENCE.find((id) => list.find((e) => e.id === id)?.availability === 'cached');
  const describe = cached ?? `${DEFAULT_PREFERENCE[0]} (download on first use; offline: ${FALLBACK_ID})`;
  return { default: cached ?? null, defaultDescription: describe, encoders: list };
}

export const extractRequest = z.strictObject({
  encoder: name.optional(),
  encoderPath: path.optional(),
  /** The encoder model's layer whose output is the feature map. */
  featureNode: name.optional(),
  /** n×n tiles of an n× larger photo through the encoder: a finer feature map (its own cache). */
  tiles: z.number().int().min(1).max(MAX_TILES).optional(),
  collectionId: id.optional(),
  /** Photos per encoder batch (default: 32 at 224 px, fewer for larger inputs). */
  batchSize: z.number().int().min(1).max(LIMITS.page).optional(),
});
export type ExtractRequest = z.infer<typeof extractRequest>;

/**
 * Features of every image (or one collection's) into the cache: resumable, undecodable images
 * skipped. Progress comes as 'download' (bytes of a first-use encoder) and 'extract' (images).
 */
export function extractFeatures(ctx: OpContext, req: ExtractRequest, io: JobIo): Promise<ExtractResult> {
  return runExtract({
    home: ctx.ws.home,
    ...req,
    signal: io.signal,
    onWarning: (message) => io.emit({ type: 'warning', message }),
    onDownload: (done, total) => io.emit({ type: 'progress', done, total, message: 'download', unit: 'B' }),
    onProgress: (done, total) => io.emit({ type: 'progress', done, total, message: 'extract', unit: 'img' }),
  });
}
