import { resolve } from 'node:path';
import { findCollection, listCollections } from '../../data/collections.ts';
import { exportCoco, exportCsv } from '../../data/exporters.ts';
import { openDb } from '../../data/store.ts';
import { workspace } from '../../data/workspace.ts';
import { parseCommandArgs, type Command } from '../context.ts';
import { usageError } from '../errors.ts';
import { invalidRequest, unavailable } from '../../util/errors.ts';

/** plumage export <coco|csv> FILE [--collection ID] [--scheme S]  (model weights: `export weights`). */
export const run: Command = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, {
    collection: { type: 'string' },
    scheme: { type: 'string', default: 'default' },
  });
  const [format, file, ...extra] = positionals;
  if (!format || !file || extra.length || (format !== 'coco' && format !== 'csv')) {
    throw usageError(
      'usage: plumage export <coco|csv> FILE [--collection ID] [--scheme default|official|paper]',
);
  }
  const ws = workspace(ctx.home);
  const db = openDb(ws.dbPath);
  try {
    const all = listCollections(db);
    let chosen = all;
    if (values.collection) {
      chosen = [findCollection(db, values.collection)];
    }
    if (!chosen.length) throw unavailable('the workspace has no collections: import one first');
    const out = resolve(file);
    if (format === 'coco') {
      if (chosen.length > 1) {
        throw invalidRequest(
          `the workspace has ${chosen.length} collections: pick one with --collection ID (${all.map((c) => `${c.id} ${c.name}`).join(', ')})`,
        );
      }
      const r = exportCoco(db, chosen[0], out, values.scheme);
      ctx.log(`wrote ${out}: ${r.images} images, ${r.captions} captions, ${r.categories} categories`);
      return { file: out, format, collection: chosen[0].id, ...r };
    }
    const r = exportCsv(db, chosen, out, values.scheme);
    ctx.log(`wrote ${out}: ${r.images} images, ${r.captions} captions`);
    return { file: out, format, collections: chosen.map((c) => c.id), ...r };
  } finally {
    db.close();
  }
};
