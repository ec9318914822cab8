import type {
  Caption,
  ClassInfo,
  Collection,
  FileStatus,
  ImageDetail,
  ImagePage,
  ImageQuery,
  ImageSummary,
  ReviewStatus,
  RunSummary,
} from '../../shared/types.ts';
import type { Db } from './store.ts';
import type { StoredFile } from './file-status.ts';
import { currentPredictionRun, getPrediction } from './predictions.ts';
import { runName } from './runs.ts';

/**
 * Read-side queries of the workbench: gallery paging with filters, caption full-text search,
 * image detail with its label and caption history. Everything here is read-only.
 */

export const MAX_PAGE = 500;

/**
 * Turns free text typed by a user into a safe FTS5 query: every word becomes a quoted phrase
 * (so FTS operators, column filters and stray quotes are inert), words are ANDed, and the last
 * word is a prefix so results follow the typing. Returns null when nothing searchable is left.
 */
export function ftsQuery(input: string): string | null {
  const words = input
    // Control characters and quotes are never meaningful here; drop them before quoting.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f"]/g, ' ')
    .split(/\s+/)
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, 32);
  if (words.length === 0) return null;
  return words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' ');
}

interface Where {
  sql: string;
  params: Record<string, unknown>;
}

function whereOf(q: ImageQuery): Where | null {
  const clauses: string[] = [];
  const params: Record<string, unknown> = {};
  if (q.collectionId !== undefined) {
    clauses.push('i.collection_id = @collectionId');
    params.collectionId = q.collectionId;
  }
  // Filters are id subqueries: each uses its own index (labels_class, splits_part) and leaves
  // the (collection_id, rel_path) index free to give the page order without a sort.
  if (q.classId !== undefined) {
    clauses.push('i.id IN (SELECT image_id FROM labels WHERE class_id = @classId)');
    params.classId = q.classId;
  }
  if (q.split !== undefined) {
    if (q.split === 'none') clauses.push("i.id NOT IN (SELECT image_id FROM splits WHERE scheme = 'default')");
    else {
      clauses.push("i.id IN (SELECT image_id FROM splits WHERE scheme = 'default' AND part = @split)");
      params.split = q.split;
    }
  }
  if (q.provenance !== undefined) {
    if (q.provenance === 'model') clauses.push("i.id IN (SELECT image_id FROM labels WHERE provenance LIKE 'model:%')");
    else if (q.provenance === 'unlabeled') clauses.push('i.id NOT IN (SELECT image_id FROM labels)');
    else {
      clauses.push('i.id IN (SELECT image_id FROM labels WHERE provenance = @provenance)');
      params.provenance = q.provenance;
    }
  }
  if (q.reviewStatus !== undefined) {
    clauses.push('i.review_status = @reviewStatus');
    params.reviewStatus = q.reviewStatus;
  }
  if (q.fileStatus !== undefined) {
    clauses.push('i.file_status = @fileStatus');
    params.fileStatus = q.fileStatus;
  }
  if (q.ids !== undefined) {
    clauses.push('i.id IN (SELECT value FROM json_each(@ids))');
    params.ids = JSON.stringify(q.ids);
  }
  if (q.search !== undefined) {
    const match = ftsQuery(q.search);
    if (match === null && q.search.trim() !== '') return null; // only punctuation: matches nothing
    if (match !== null) {
      clauses.push(`i.id IN (SELECT c.image_id FROM captions_fts f JOIN captions c ON c.id = f.rowid
                     WHERE captions_fts MATCH @match AND c.deleted = 0)`);
      params.match = match;
    }
  }
  return { sql: clauses.length ? 'WHERE ' + clauses.join(' AND ') : '', params };
}

const FROM = `FROM images i
  LEFT JOIN labels l ON l.image_id = i.id
  LEFT JOIN classes k ON k.id = l.class_id
  LEFT JOIN splits s ON s.image_id = i.id AND s.scheme = 'default'`;

const SUMMARY_COLUMNS = `i.id, i.collection_id, i.file_name, i.rel_path, i.width, i.height,
  l.class_id, k.name AS class_name, l.provenance AS label_provenance, s.part AS split, i.review_status, i.file_status,
  (SELECT c.text FROM captions c WHERE c.image_id = i.id AND c.deleted = 0 AND c.accepted = 1
     ORDER BY c.ord LIMIT 1) AS caption`;

interface SummaryRow {
  id: number;
  collection_id: number;
  file_name: string;
  rel_path: string;
  width: number;
  height: number;
  class_id: number | null;
  class_name: string | null;
  label_provenance: string | null;
  split: string | null;
  review_status: ReviewStatus;
  file_status: FileStatus;
  caption: string | null;
}

function toSummary(r: SummaryRow): ImageSummary {
  return {
    id: r.id,
    collectionId: r.collection_id,
    fileName: r.file_name,
    relPath: r.rel_path,
    width: r.width,
    height: r.height,
    classId: r.class_id,
    className: r.class_name,
    labelProvenance: r.label_provenance,
    split: r.split,
    reviewStatus: r.review_status,
    fileStatus: r.file_status,
    caption: r.caption,
    // Filled from the current run's predictions by the callers (predictions.ts).
    disagreement: null,
  };
}

/**
 * Review-queue orders over the current run's predictions (predictions.ts): most disputed first,
 * least confident first, least likely caption first. Images the run did not score come last.
 */
const PRED_ORDER: Record<'disagreement' | 'confidence' | 'likelihood', string> = {
  // ties by id, as nextDisputed walks them (exact ties are common on libtensorflow: identical maps give 0)
  disagreement: '(p.disagreement IS NULL), p.disagreement DESC, i.id',
  confidence: '(p.confidence IS NULL), p.confidence ASC',
  likelihood: '(p.likelihood IS NULL), p.likelihood ASC',
};

/** The gallery's order of a query: by path, or by the latest done run's predictions (`p`). */
function galleryOrder(db: Db, q: ImageQuery): { predRun: string | null; byPrediction: boolean; order: string } {
  const predRun = currentPredictionRun(db, q.collectionId);
  const byPrediction = predRun !== null && q.sort !== undefined && q.sort !== 'path';
  const path = 'i.collection_id, i.rel_path';
  return { predRun, byPrediction, order: byPrediction ? `${PRED_ORDER[q.sort as keyof typeof PRED_ORDER]}, ${path}` : path };
}

/**
 * Every id a query matches, in the gallery's order (images:query's without paging): select all
 * and the selection check read these instead of every page of photo summaries.
 */
export function queryImageIds(db: Db, q: Omit<ImageQuery, 'offset' | 'limit'>): number[] {
  const where = whereOf(q);
  if (!where) return [];
  const { predRun, byPrediction, order } = galleryOrder(db, q);
  const join = byPrediction ? 'LEFT JOIN predictions p ON p.image_id = i.id AND p.run_id = @predRun' : '';
  return db
    .prepare(`SELECT i.id FROM images i ${join} ${where.sql} ORDER BY ${order}`)
    .pluck()
    .all({ ...where.params, ...(byPrediction ? { predRun } : {}) }) as number[];
}

/** One gallery page. Sorting by disagreement/confidence/likelihood uses the latest done run's predictions. */
export function queryImages(db: Db, q: ImageQuery): ImagePage {
  const offset = q.offset ?? 0;
  const limit = Math.min(q.limit ?? 100, MAX_PAGE);
  const where = whereOf(q);
  if (!where) return { total: 0, offset, items: [] };
  const { total } = db.prepare(`SELECT count(*) AS total FROM images i ${where.sql}`).get(where.params) as {
    total: number;
  };
  const { predRun, byPrediction, order } = galleryOrder(db, q);
  // Pick the page's ids first (an index walk over (collection_id, rel_path), or the prediction
  // order), then join the details for those rows only, so a deep offset does not pay for the
  // joins of skipped rows.
  const rows = db
    .prepare(
      byPrediction
        ? `WITH page AS (
             SELECT i.id, row_number() OVER (ORDER BY ${order}) AS n
               FROM images i LEFT JOIN predictions p ON p.image_id = i.id AND p.run_id = @predRun
               ${where.sql}
               ORDER BY n LIMIT @limit OFFSET @offset)
           SELECT ${SUMMARY_COLUMNS} FROM page JOIN images i ON i.id = page.id
             LEFT JOIN labels l ON l.image_id = i.id
             LEFT JOIN classes k ON k.id = l.class_id
             LEFT JOIN splits s ON s.image_id = i.id AND s.scheme = 'default'
           ORDER BY page.n`
        : `WITH page AS (
             SELECT i.id FROM images i ${where.sql}
             ORDER BY i.collection_id, i.rel_path LIMIT @limit OFFSET @offset)
           SELECT ${SUMMARY_COLUMNS} FROM page JOIN images i ON i.id = page.id
             LEFT JOIN labels l ON l.image_id = i.id
             LEFT JOIN classes k ON k.id = l.class_id
             LEFT JOIN splits s ON s.image_id = i.id AND s.scheme = 'default'
           ORDER BY i.collection_id, i.rel_path`,
    )
    .all({ ...where.params, limit, offset, ...(byPrediction ? { predRun } : {}) }) as SummaryRow[];
  const items = rows.map(toSummary);
  if (where.params.match !== undefined && items.length) {
    // A search shows the caption that matched, not the photo's first caption.
    const hit = db.prepare(
      `SELECT c.text FROM captions_fts f JOIN captions c ON c.id = f.rowid
        WHERE captions_fts MATCH ? AND c.image_id = ? AND c.deleted = 0 ORDER BY c.ord LIMIT 1`,
    );
    for (const it of items) it.caption = (hit.get(where.params.match, it.id) as { text: string } | undefined)?.text ?? it.caption;
  }
  if (predRun !== null && items.length) {
    const d = db.prepare('SELECT disagreement FROM predictions WHERE run_id = ? AND image_id = ?');
    for (const it of items) it.disagreement = (d.get(predRun, it.id) as { disagreement: number | null } | undefined)?.disagreement ?? null;
  }
  return { total, offset, items };
}

export function getImageDetail(db: Db, id: number): ImageDetail | null {
  const row = db
    .prepare(`SELECT ${SUMMARY_COLUMNS}, i.taken_at, i.gps_lat, i.gps_lon ${FROM} WHERE i.id = ?`)
    .get(id) as (SummaryRow & { taken_at: string | null; gps_lat: number | null; gps_lon: number | null }) | undefined;
  if (!row) return null;
  const prediction = getPrediction(db, id);
  const className = db.prepare('SELECT name FROM classes WHERE id = ?');
  const captions = db
    .prepare('SELECT id, ord, text, provenance, accepted FROM captions WHERE image_id = ? AND deleted = 0 ORDER BY ord')
    .all(id) as { id: number; ord: number; text: string; provenance: string; accepted: number }[];
  const revisions = db.prepare(
    'SELECT text, provenance, at FROM caption_revisions WHERE caption_id = ? ORDER BY id',
  );
  const labelHistory = db
    .prepare(
      `SELECT h.class_id, k.name AS class_name, h.provenance, h.at FROM label_history h
       LEFT JOIN classes k ON k.id = h.class_id WHERE h.image_id = ? ORDER BY h.id`,
    )
    .all(id) as { class_id: number | null; class_name: string | null; provenance: string; at: string }[];
  return {
    ...toSummary(row),
    disagreement: prediction?.disagreement ?? null,
    takenAt: row.taken_at,
    gps: row.gps_lat !== null && row.gps_lon !== null ? { lat: row.gps_lat, lon: row.gps_lon } : null,
    captions: captions.map(
      (c): Caption => ({
        id: c.id,
        ord: c.ord,
        text: c.text,
        provenance: c.provenance,
        accepted: c.accepted === 1,
        revisions: revisions.all(c.id) as Caption['revisions'],
      }),
    ),
    labelHistory: labelHistory.map((h) => ({
      classId: h.class_id,
      className: h.class_name,
      provenance: h.provenance,
      at: h.at,
    })),
    // The latest done run's top-5 for this image (predictions.ts), when it has scored it.
    suggestions: (prediction?.top5 ?? []).flatMap((t) => {
      const k = className.get(t.classId) as { name: string } | undefined;
      return k ? [{ classId: t.classId, className: k.name, p: t.p }] : [];
    }),
  };
}

export function listCollections(db: Db): Collection[] {
  return db
    .prepare(
      `SELECT c.id, c.name, c.root, c.kind, (SELECT count(*) FROM images i WHERE i.collection_id = c.id) AS images
       FROM collections c ORDER BY c.id`,
    )
    .all() as Collection[];
}

const CLASS_INFO = `SELECT k.id, k.collection_id AS collectionId, k.name, k.display_name AS displayName,
    (SELECT count(*) FROM labels l WHERE l.class_id = k.id) AS count
  FROM classes k`;

/** The species shown in the window: merged and removed ones are left out (species.ts). */
export function listClasses(db: Db, collectionId?: number): ClassInfo[] {
  return db
    .prepare(
      `${CLASS_INFO} WHERE k.merged_into IS NULL AND k.removed = 0 ${collectionId !== undefined ? 'AND k.collection_id = ?' : ''}
       ORDER BY k.collection_id, k.name`,
    )
    .all(...(collectionId !== undefined ? [collectionId] : [])) as ClassInfo[];
}

/** One species with its photo count, whether shown or not. */
export function classInfo(db: Db, classId: number): ClassInfo | undefined {
  return db.prepare(`${CLASS_INFO} WHERE k.id = ?`).get(classId) as ClassInfo | undefined;
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function listRuns(db: Db): RunSummary[] {
  const rows = db
    .prepare(
      `SELECT id, json_extract(config, '$.name') AS name, created_at, variant, encoder, backend, status, metrics, epochs, warnings
       FROM runs ORDER BY created_at DESC, id`,
    )
    .all() as {
    id: string;
    name: unknown;
    created_at: string;
    variant: RunSummary['variant'];
    encoder: string;
    backend: string;
    status: RunSummary['status'];
    metrics: string | null;
    epochs: string;
    warnings: string;
  }[];
  return rows.map((r) => ({
    id: r.id,
    name: runName(r.name),
    createdAt: r.created_at,
    variant: r.variant,
    encoder: r.encoder,
    backend: r.backend,
    status: r.status,
    metrics: parseJson(r.metrics, null),
    epochs: parseJson(r.epochs, []),
    warnings: parseJson(r.warnings, []),
  }));
}

/** Where an image's file is (collection root, path relative to it) and what was imported there. */
export type ImageLocation = StoredFile & { collectionId: number; root: string; relPath: string };

const LOCATION_SQL = `SELECT i.id, i.collection_id AS collectionId, c.root, i.rel_path AS relPath,
         i.content_hash AS contentHash, i.bytes, i.mtime_ms AS mtimeMs, i.file_status AS fileStatus
  FROM images i JOIN collections c ON c.id = i.collection_id`;

/** An image's location by id (for the image routes' file check). */
export function imageLocation(db: Db, id: number): ImageLocation | null {
  return (db.prepare(`${LOCATION_SQL} WHERE i.id = ?`).get(id) as ImageLocation | undefined) ?? null;
}

/** The imported image at a path of a collection, or null when no image was imported from there. */
export function imageLocationAt(db: Db, collectionId: number, relPath: string): ImageLocation | null {
  const row = db.prepare(`${LOCATION_SQL} WHERE i.collection_id = ? AND i.rel_path = ?`).get(collectionId, relPath);
  return (row as ImageLocation | undefined) ?? null;
}

export function collectionRoot(db: Db, collectionId: number): string | null {
  const row = db.prepare('SELECT root FROM collections WHERE id = ?').get(collectionId) as { root: string } | undefined;
  return row?.root ?? null;
}
