import { z } from 'zod';
import { importDataset, type ImportResult } from '../../data/importers/index.ts';
import type { JobIo, OpContext } from './context.ts';
import { name, path } from './schemas.ts';

export const importRequest = z.strictObject({
  kind: z.enum(['cub', 'flowers', 'folder', 'coco']),
  path,
  /** Caption folder (CUB text_c10 / Oxford-102 text) when not in the dataset's usual place. */
  captions: path.optional(),
  /** COCO: the images folder. */
  images: path.optional(),
  /** The collection's name (default: from the dataset). */
  name: name.optional(),
  thumbnails: z.boolean().optional(),
  /** Files read at once. */
  concurrency: z.number().int().min(1).max(64).optional(),
});
export type ImportRequest = z.infer<typeof importRequest>;

/** Imports (or re-imports, idempotently) a dataset into a collection of the workspace. */
export async function importCollection(ctx: OpContext, req: ImportRequest, io: JobIo): Promise<ImportResult> {
  const result = await importDataset(ctx.db, ctx.ws, req.kind, req.path, {
    captions: req.captions,
    images: req.images,
    name: req.name,
    thumbnails: req.thumbnails,
    concurrency: req.concurrency ?? 4,
    signal: io.signal,
    onProgress: (done, total) => io.emit({ type: 'progress', done, total, message: `import ${req.kind}` }),
  });
  ctx.imagesChanged([]);
  return result;
}
