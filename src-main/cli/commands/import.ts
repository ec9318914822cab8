import { openDb } from '../../data/store.ts';
import { workspace } from '../../data/workspace.ts';
import { importDataset, isImporterKind } from '../../data/importers/index.ts';
import { parseCommandArgs, type Command } from '../context.ts';
import { usageError } from '../errors.ts';
import { Progress } from '../progress.ts';

/**
 * plumage import <cub|flowers|folder|coco> PATH [--captions DIR] [--images DIR] [--name N] [--thumbnails]
 * JSON (DESIGN §8): images, classes, captions (collection totals), added, errors [{path, reason}],
 * plus collection, missing, updated, unchanged, failed, seconds.
 */
export const run: Command = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, {
    captions: { type: 'string' },
    images: { type: 'string' },
    name: { type: 'string' },
    thumbnails: { type: 'boolean' },
    concurrency: { type: 'string' },
  });
  const [kind, path, ...extra] = positionals;
  if (!kind || !path || extra.length) {
    throw usageError(
      'usage: plumage import <cub|flowers|folder|coco> PATH [--captions DIR] [--images DIR] [--name N] [--thumbnails]',
);
  }
  if (!isImporterKind(kind))
    throw usageError(`unknown import format '${kind}' (use cub, flowers, folder or coco)`);
  const concurrency = values.concurrency ? Number(values.concurrency) : 4;
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64)) {
    throw usageError('--concurrency must be an integer from 1 to 64');
  }
  const ws = workspace(ctx.home);
  const db = openDb(ws.dbPath);
  try {
    let bar: Progress | undefined;
    const result = await importDataset(db, ws, kind, path, {
      captions: values.captions,
      images: values.images,
      name: values.name,
      thumbnails: values.thumbnails,
      concurrency,
      onProgress: (done, total) => {
        bar ??= new Progress(`import ${kind}`, total, 'files');
        bar.set(done);
        if (done === total) bar.finish();
      },
    });
    const r = result;
    ctx.log(
      `${r.name} (collection ${r.collection}): ${r.images} images, ${r.classes} classes, ${r.captions} captions; ` +
        `added ${r.added}, updated ${r.updated}, unchanged ${r.unchanged}, missing ${r.missing}, failed ${r.failed} ` +
        `in ${r.seconds.toFixed(1)} s`,
    );
    if (r.errors.length) {
      ctx.err(`${r.errors.length} problem(s):`);
      for (const e of r.errors.slice(0, 50)) ctx.err(`  ${e.path}: ${e.reason}`);
      if (r.errors.length > 50) ctx.err(`  … ${r.errors.length - 50} more (see --json)`);
    }
    return { ...r };
  } finally {
    db.close();
  }
};
