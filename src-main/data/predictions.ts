import type { Db } from './store.ts';

/**
 * The `predictions` table (migration 2): what one run says about each image. Written by
 * jobs/predict.ts; read by the gallery (sort by disagreement / confidence / likelihood), the
 * photo view (top-5 suggestions) and the "next most disputed" shortcut. "The current run" is the
 * latest finished run that has predictions for the image's collection.
 */

export interface PredictionRow {
  runId: string;
  imageId: number;
  classId: number | null;
  confidence: number | null;
  top5: { classId: number; p: number }[];
  caption: string | null;
  likelihood: number | null;
  disagreement: number | null;
}

export function savePredictions(db: Db, rows: PredictionRow[]): void {
  const stmt = db.prepare(
    `INSERT OR REPLACE INTO predictions(run_id, image_id, class_id, confidence, top5, caption, likelihood, disagreement)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (const r of rows)
      stmt.run(
        r.runId,
        r.imageId,
        r.classId,
        r.confidence,
        JSON.stringify(r.top5),
        r.caption,
        r.likelihood,
        r.disagreement,
      );
  })();
}

export function clearPredictions(db: Db, runId: string): void {
  db.prepare('DELETE FROM predictions WHERE run_id = ?').run(runId);
}

/**
 * The run whose predictions the gallery shows: the most recent finished run with predictions
 * (of the collection, when given). Null when no run has scored anything yet.
 */
export function currentPredictionRun(db: Db, collectionId?: number): string | null {
  const row = db
    .prepare(
      `SELECT r.id FROM runs r
        WHERE r.status = 'done'
          AND EXISTS (SELECT 1 FROM predictions p JOIN images i ON i.id = p.image_id
                       WHERE p.run_id = r.id AND (@c IS NULL OR i.collection_id = @c))
        ORDER BY r.created_at DESC, r.id DESC LIMIT 1`,
    )
    .get({ c: collectionId ?? null }) as { id: string } | undefined;
  return row?.id ?? null;
}

/** The prediction of one image by a run (by default the current run). */
export function getPrediction(db: Db, imageId: number, runId?: string): PredictionRow | null {
  const run =
    runId ??
    (
      db
        .prepare(
          `SELECT p.run_id FROM predictions p JOIN runs r ON r.id = p.run_id
            WHERE p.image_id = ? AND r.status = 'done' ORDER BY r.created_at DESC, r.id DESC LIMIT 1`,
        )
        .get(imageId) as { run_id: string } | undefined
    )?.run_id;
  if (!run) return null;
  const r = db.prepare('SELECT * FROM predictions WHERE run_id = ? AND image_id = ?').get(run, imageId) as
    | {
        run_id: string;
        image_id: number;
        class_id: number | null;
        confidence: number | null;
        top5: string;
        caption: string | null;
        likelihood: number | null;
        disagreement: number | null;
      }
    | undefined;
  if (!r) return null;
  return {
    runId: r.run_id,
    imageId: r.image_id,
    classId: r.class_id,
    confidence: r.confidence,
    top5: JSON.parse(r.top5) as PredictionRow['top5'],
    caption: r.caption,
    likelihood: r.likelihood,
    disagreement: r.disagreement,
  };
}

/**
 * The most disputed image after `afterId` in the disagreement order (highest first, ties by id):
 * the review queue's "next" key. With no afterId, the most disputed of all. Null at the end.
 */
export function nextDisputed(db: Db, opts: { afterId?: number; collectionId?: number } = {}): number | null {
  const run = currentPredictionRun(db, opts.collectionId);
  if (!run) return null;
  const base = `FROM predictions p JOIN images i ON i.id = p.image_id
     WHERE p.run_id = @run AND p.disagreement IS NOT NULL AND (@c IS NULL OR i.collection_id = @c)`;
  const params = { run, c: opts.collectionId ?? null };
  if (opts.afterId === undefined) {
    const r = db
      .prepare(`SELECT p.image_id AS id ${base} ORDER BY p.disagreement DESC, p.image_id LIMIT 1`)
      .get(params) as { id: number } | undefined;
    return r?.id ?? null;
  }
  const cur = db
    .prepare('SELECT disagreement FROM predictions WHERE run_id = ? AND image_id = ?')
    .get(run, opts.afterId) as { disagreement: number | null } | undefined;
  if (!cur || cur.disagreement === null) return nextDisputed(db, { collectionId: opts.collectionId });
  const r = db
    .prepare(
      `SELECT p.image_id AS id ${base}
         AND (p.disagreement < @d OR (p.disagreement = @d AND p.image_id > @after))
       ORDER BY p.disagreement DESC, p.image_id LIMIT 1`,
    )
    .get({ ...params, d: cur.disagreement, after: opts.afterId }) as { id: number } | undefined;
  return r?.id ?? null;
}
