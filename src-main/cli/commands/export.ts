import { exportLabels, exportRequest } from '../../api/ops/collections.ts';
import { withOpContext } from '../../api/ops/context.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

/** plumage export <coco|csv> FILE [--collection ID] [--scheme S]  (model weights: `export weights`). */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: exportRequest,
    positionals: ['format', 'file'],
    usage: 'usage: plumage export <coco|csv> FILE [--collection ID] [--scheme default|official|paper]',
  });
  const r = await withOpContext(ctx.home, (op) => exportLabels(op, request));
  ctx.log(`wrote ${r.file}: ${r.images} images, ${r.captions} captions${'categories' in r ? `, ${r.categories} categories` : ''}`);
  return r;
};
