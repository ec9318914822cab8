import { formatSummary, makeSplits, splitRequest } from '../../api/ops/collections.ts';
import { withOpContext } from '../../api/ops/context.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

/**
 * plumage split [--scheme default|paper] [--seed N] [--val 0.1] [--test 0.2] [--collection ID]
 * Prints the Table 1 summary (classes / images per part) for each collection.
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: splitRequest,
    usage: 'usage: plumage split [--scheme default|paper] [--seed N] [--val 0.1] [--test 0.2] [--collection ID]',
  });
  const r = await withOpContext(ctx.home, (op) => makeSplits(op, request));
  for (const s of r.splits) for (const line of formatSummary(s)) ctx.log(line);
  return r;
};
