import type { Db } from './store.ts';

/** Group-by counts as a plain object: {value: count}. */
function countBy(db: Db, sql: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of db.prepare(sql).all() as { k: string; n: number }[]) out[r.k] = r.n;
  return out;
}

/** One summary of the workspace: what `plumage stats --json` prints. */
export function workspaceStats(db: Db) {
  const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  const collections = db
    .prepare(
      `SELECT c.id, c.name, c.kind, c.root,
              (SELECT count(*) FROM images i WHERE i.collection_id = c.id) AS images,
              (SELECT count(*) FROM classes k WHERE k.collection_id = c.id AND k.merged_into IS NULL AND k.removed = 0) AS classes,
              (SELECT count(*) FROM captions x JOIN images i ON i.id = x.image_id
                WHERE i.collection_id = c.id AND x.deleted = 0) AS captions,
              (SELECT count(*) FROM labels l JOIN images i ON i.id = l.image_id WHERE i.collection_id = c.id) AS labelled
         FROM collections c ORDER BY c.id`,
    )
    .all();
  const splits: Record<string, Record<string, number>> = {};
  for (const r of db
    .prepare('SELECT scheme, part, count(*) n FROM splits GROUP BY scheme, part ORDER BY scheme, part')
    .all() as {
    scheme: string;
    part: string;
    n: number;
  }[]) {
    (splits[r.scheme] ??= {})[r.part] = r.n;
  }
  // 'model:<run id>' provenances are grouped as 'model' so the summary stays short.
  const prov = `CASE WHEN provenance LIKE 'model:%' THEN 'model' ELSE provenance END`;
  return {
    collections,
    images: n('SELECT count(*) n FROM images'),
    // merged and removed species are kept for the record but are not species any more (species.ts)
    classes: n('SELECT count(*) n FROM classes WHERE merged_into IS NULL AND removed = 0'),
    captions: {
      total: n('SELECT count(*) n FROM captions WHERE deleted = 0'),
      by_provenance: countBy(db, `SELECT ${prov} k, count(*) n FROM captions WHERE deleted = 0 GROUP BY k`),
      accepted: n('SELECT count(*) n FROM captions WHERE deleted = 0 AND accepted = 1'),
      deleted: n('SELECT count(*) n FROM captions WHERE deleted = 1'),
      revisions: n('SELECT count(*) n FROM caption_revisions'),
    },
    labels: {
      total: n('SELECT count(*) n FROM labels'),
      by_provenance: countBy(db, `SELECT ${prov} k, count(*) n FROM labels GROUP BY k`),
      unlabelled: n('SELECT count(*) n FROM images WHERE id NOT IN (SELECT image_id FROM labels)'),
    },
    review: countBy(db, 'SELECT review_status k, count(*) n FROM images GROUP BY k'),
    splits,
    parts: {
      definitions: n('SELECT count(*) n FROM parts'),
      locations: n('SELECT count(*) n FROM part_locations'),
    },
    masks: n('SELECT count(*) n FROM masks'),
    runs: {
      total: n('SELECT count(*) n FROM runs'),
      by_status: countBy(db, 'SELECT status k, count(*) n FROM runs GROUP BY k'),
    },
  };
}
