import { withOpContext } from '../../api/ops/context.ts';
import { importCollection, importRequest } from '../../api/ops/import.ts';
import { parseRequest } from '../request.ts';
import type { Command } from '../context.ts';
import { jobPrinter } from '../progress.ts';

const USAGE = 'usage: plumage import <cub|flowers|folder|coco> PATH [--captions DIR] [--images DIR] [--name N] [--thumbnails]';

/**
 * plumage import <cub|flowers|folder|coco> PATH [--captions DIR] [--images DIR] [--name N] [--thumbnails] [--concurrency N]
 * JSON: images, classes, captions (collection totals), added, errors [{path, reason}],
 * plus collection, missing, updated, unchanged, failed, seconds.
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, { schema: importRequest, positionals: ['kind', 'path'], usage: USAGE });
  const r = await withOpContext(ctx.home, (op) =>
    importCollection(op, request, { signal: new AbortController().signal, emit: jobPrinter(ctx.err) }),
  );
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
};
