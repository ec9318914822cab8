import { findCollection, listCollections } from '../../data/collections.ts';
import { formatSummary, makeDefaultSplit, makePaperSplit, type SplitSummary } from '../../data/splits.ts';
import { openDb } from '../../data/store.ts';
import { workspace } from '../../data/workspace.ts';
import { parseCommandArgs, type Command } from '../context.ts';
import { usageError } from '../errors.ts';
import { unavailable } from '../../util/errors.ts';

/**
 * plumage split [--scheme default|paper] [--seed N] [--val 0.1] [--test 0.2] [--collection ID]
 * Prints the Table 1 summary (classes / images per part) for each collection.
 */
export const run: Command = async (ctx) => {
  const { values } = parseCommandArgs(
    ctx.argv,
    {
      scheme: { type: 'string', default: 'default' },
      seed: { type: 'string', default: '0' },
      val: { type: 'string', default: '0.1' },
      test: { type: 'string', default: '0.2' },
      collection: { type: 'string' },
    },
    false,
  );
  if (values.scheme !== 'default' && values.scheme !== 'paper')
    throw usageError("--scheme must be 'default' or 'paper'");
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw usageError('--seed must be a non-negative integer');
  const val = Number(values.val);
  const test = Number(values.test);
  if (!(val >= 0 && test >= 0 && val + test < 1))
    throw usageError('--val and --test must be fractions ≥ 0 with val + test < 1');
  const ws = workspace(ctx.home);
  const db = openDb(ws.dbPath);
  try {
    let cols = listCollections(db);
    if (values.collection) {
      cols = [findCollection(db, values.collection)];
    }
    if (!cols.length) throw unavailable('the workspace has no collections: import one first');
    const splits: SplitSummary[] = [];
    for (const c of cols) {
      const s =
        values.scheme === 'paper'
          ? makePaperSplit(db, c.id, seed, { val, test })
          : makeDefaultSplit(db, c.id, seed, { val, test });
      splits.push(s);
      for (const line of formatSummary(s)) ctx.log(line);
    }
    return { scheme: values.scheme, seed, splits };
  } finally {
    db.close();
  }
};
