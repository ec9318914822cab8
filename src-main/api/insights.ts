/**
 * The read/write logic behind the issue-6 channels that needs no TF.js: runs dashboard data
 * (detail, Table 2 comparison, confusion cells), one-click retrain configuration and resumable
 * runs, and the batch-caption review (list, results, review, import accepted, export).
 * service.ts wires these to channels; the ML work (predict, CAMs, evaluate, caption) lives in
 * jobs/ and runs in a worker (jobs/worker-insights.ts) or, for one image, in-process.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import sharp from 'sharp';
import type {
  BatchJobInfo,
  BatchResultItem,
  BatchReview,
  EvalResult,
  ResumableRun,
  RunComparison,
  RunDetail,
  Variant,
} from '../../shared/types.ts';
import type { RetrainRequest } from '../../shared/ipc.ts';
import { addCaption, setLabel } from '../data/annotations.ts';
import { ensureClass, getOrCreateCollection } from '../data/collections.ts';
import { sha256 } from '../data/hashing.ts';
import { getRun, listRuns, runName, type RunRecord } from '../data/runs.ts';
import { tx, type Db } from '../data/store.ts';
import type { Workspace } from '../data/workspace.ts';
import { readResumeState } from '../jobs/run-artifact.ts';
import { markInterruptedRuns } from '../jobs/run-owner.ts';
import { CAM_FINE_TUNE, RECIPES } from '../jobs/train/config.ts';
import { PlumageError } from '../util/errors.ts';
import { TABLE2_COLUMNS, table2, type ReportRun } from './report-html.ts';
import { csvRow } from '../util/csv.ts';

// ---------------------------------------------------------------------------------------------
// Runs dashboard

const numericMetrics = (m: Record<string, unknown> | null): Record<string, number> | null => {
  if (!m) return null;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number') out[k] = v;
  return out;
};

/**
 * Stored metrics are a full evaluation only once the run was evaluated (training alone stores
 * top-1/top-5); the dashboard needs the per-class rows, the split and the examples lists.
 */
function isEvalResult(m: unknown): m is EvalResult {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Partial<Record<keyof EvalResult, unknown>>;
  return (
    typeof r.run === 'string' &&
    typeof r.split === 'object' &&
    r.split !== null &&
    Array.isArray(r.per_class) &&
    Array.isArray(r.worst) &&
    Array.isArray(r.cam_examples)
  );
}

function runOr404(db: Db, id: string): RunRecord {
  const r = getRun(db, id);
  if (!r) throw new PlumageError('not_found', `no run '${id}'`);
  return r;
}

export function runDetail(db: Db, id: string): RunDetail {
  const r = runOr404(db, id);
  const { n } = db.prepare('SELECT count(*) AS n FROM predictions WHERE run_id = ?').get(id) as { n: number };
  return {
    id: r.id,
    name: runName(r.config.name),
    createdAt: r.createdAt,
    variant: r.variant,
    encoder: r.encoder,
    backend: r.backend,
    status: r.status,
    metrics: numericMetrics(r.metrics),
    epochs: r.epochs as RunDetail['epochs'],
    warnings: r.warnings,
    collectionId: r.collectionId,
    config: r.config,
    parentRun: r.parentRun,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    timings: r.timings,
    checkpoint: r.checkpoint,
    error: r.error,
    evaluation: isEvalResult(r.metrics) ? r.metrics : null,
    predictions: n,
  };
}

/** The paper's Table 2 over the given runs, with relative improvements (report-html.ts's table2). */
export function compareRuns(db: Db, ids: string[]): RunComparison {
  const runs: ReportRun[] = ids.map((id) => {
    const run = runOr404(db, id);
    // A run not evaluated yet shows as a row of dashes rather than failing the whole table.
    return { run, metrics: (run.metrics ?? {}) as unknown as ReportRun['metrics'] };
  });
  const t = table2(runs);
  return { columns: TABLE2_COLUMNS, rows: t.rows, baselines: t.baselines };
}

function classIdOf(db: Db, run: RunRecord, c: number | string): number {
  if (typeof c === 'number') return c;
  const row = db
    .prepare('SELECT id FROM classes WHERE name = ? AND (? IS NULL OR collection_id = ?) ORDER BY id LIMIT 1')
    .get(c, run.collectionId, run.collectionId) as { id: number } | undefined;
  if (!row) throw new PlumageError('not_found', `no class '${c}' in the run's collection`);
  return row.id;
}

/**
 * The images behind one cell of the confusion matrix: labelled `trueClass`, predicted
 * `predClass` by the run, on the split part the run was evaluated on (the test part by
 * default). Reads the run's predictions (scoring the photos and evaluating a run write them).
 */
export function confusionCell(
  db: Db,
  runId: string,
  trueClass: number | string,
  predClass: number | string,
): { imageIds: number[] } {
  const run = runOr404(db, runId);
  const t = classIdOf(db, run, trueClass);
  const p = classIdOf(db, run, predClass);
  const { n } = db.prepare('SELECT count(*) AS n FROM predictions WHERE run_id = ?').get(runId) as {
    n: number;
  };
  if (!n)
    throw new PlumageError(
      'unavailable',
      `run ${runId} has not scored the photos yet: choose "Score photos" or "Evaluate" for it in Runs`,
    );
  const split = (run.metrics?.split ?? null) as { scheme?: string; part?: string } | null;
  const scheme = split?.scheme ?? (typeof run.config.split === 'string' ? run.config.split : 'default');
  const part = split?.part ?? 'test';
  const rows = db
    .prepare(
      `SELECT p.image_id AS id FROM predictions p
         JOIN labels l ON l.image_id = p.image_id
         JOIN splits s ON s.image_id = p.image_id AND s.scheme = ? AND s.part = ?
        WHERE p.run_id = ? AND l.class_id = ? AND p.class_id = ?
        ORDER BY p.image_id`,
    )
    .all(scheme, part, runId, t, p) as { id: number }[];
  return { imageIds: rows.map((r) => r.id) };
}

// ---------------------------------------------------------------------------------------------
// One-click retrain and resume

/**
 * A Retrain with no run to continue trains the default recipe (config.ts RECIPES.standard: cam
 * as medi, then its fine-tune): the request only names what it sets itself.
 */
export const RETRAIN_DEFAULTS = { epochs: RECIPES.standard.epochs! } as const;

/**
 * A warm-started Retrain is a fine-tune of its parent with the recipe's cam fine-tune settings:
 * one epoch of every caption (at least 5 photo passes), λ 0.03, at half the rate the parent was
 * trained from scratch with (a parent that is itself a fine-tune passes its rate on). Only what
 * the request leaves open.
 */
const fineTune = CAM_FINE_TUNE.standard!;
export const FINE_TUNE = { epochs: fineTune.epochs!, minPhotoPasses: fineTune.minPhotoPasses!, lambda: fineTune.lambda! } as const;
const FINE_TUNE_RATE = fineTune.lr! / RECIPES.standard.lr!;

/** Optimiser settings of the Retrain form's two choices (an explicit lr still wins). */
const OPTIMISERS = {
  paper: { optimizer: 'sgd', lr: 0.1, schedule: 'constant' },
  practical: { optimizer: 'adam', lr: 0.002, schedule: 'cosine' },
} as const;

export interface RetrainPlan {
  variant: Variant;
  parent: RunRecord | null;
  config: Record<string, unknown> & { variant: Variant };
}

/**
 * What train:start trains: the requested variant (default cam), warm-started from the latest
 * finished run of the collection (the same variant preferred) unless warmStart is false, with
 * the parent's sizes and optimiser (so its weights fit) and the fine-tune's rounds, or the
 * retrain defaults when there is no parent.
 */
export function planRetrain(
  db: Db,
  req: RetrainRequest,
): RetrainPlan {
  const variant = req.variant ?? 'cam';
  let collectionId = req.collectionId;
  if (collectionId === undefined) {
    collectionId = listRuns(db, { status: 'done' }).find((r) => r.collectionId !== null)?.collectionId ?? undefined;
  }
  if (collectionId !== undefined && !db.prepare('SELECT 1 FROM collections WHERE id = ?').get(collectionId))
    throw new PlumageError('not_found', `no collection ${collectionId}`);
  let parent: RunRecord | null = null;
  if (req.warmStart !== false) {
    const row = db
      .prepare(
        `SELECT id FROM runs WHERE status = 'done' AND checkpoint IS NOT NULL AND (? IS NULL OR collection_id = ?)
          ORDER BY (variant = ?) DESC, created_at DESC, id DESC LIMIT 1`,
      )
      .get(collectionId ?? null, collectionId ?? null, variant) as { id: string } | undefined;
    parent = row ? getRun(db, row.id) : null;
    if (req.warmStart === true && !parent)
      throw new PlumageError('not_found', `no finished run to warm-start ${variant} from`);
  }
  const inherit: Record<string, unknown> = {};
  if (parent)
    for (const k of ['dims', 'batch', 'optimizer', 'split', 'maxLen', 'minCount', 'encoder', 'encoderPath', 'mu'])
      if (parent.config[k] !== undefined) inherit[k] = parent.config[k];
  const parentLr = typeof parent?.config.lr === 'number' ? parent.config.lr : undefined;
  // a parent that was itself a fine-tune already trained at the fine-tune's rate: keep it, not halve it again
  const lr = parentLr && (parent?.config.warmStart ? parentLr : parentLr * FINE_TUNE_RATE);
  const config = {
    ...inherit,
    ...(parent ? { ...FINE_TUNE, ...(lr ? { lr } : {}) } : {}),
    variant,
    ...(collectionId !== undefined ? { collectionId } : {}),
    ...(req.epochs ? { epochs: req.epochs, minPhotoPasses: 0 } : {}),
    ...(req.recipe ? OPTIMISERS[req.recipe] : {}),
    ...(req.lr ? { lr: req.lr } : {}),
    ...(req.batch ? { batch: req.batch } : {}),
    ...(req.lambda !== undefined ? { lambda: req.lambda } : {}),
    ...(req.name ? { name: req.name } : {}),
    ...(req.notes ? { notes: req.notes } : {}),
    ...(parent ? { warmStart: parent.id } : {}),
  };
  return { variant, parent, config };
}

/**
 * Refuses a Retrain the trainer would refuse, before any job starts, so the window can say why at
 * once: no photo of the collection (of the workspace, when the plan names none) has a species (a
 * plain folder imported without sub-folders), or, for a variant that learns to write captions
 * (every one but cnn), none of those photos has a caption. The trainer checks again on its split.
 */
export function requireTrainable(db: Db, plan: RetrainPlan): void {
  const collectionId = typeof plan.config.collectionId === 'number' ? plan.config.collectionId : null;
  const { labelled, captioned } = db
    .prepare(
      `SELECT count(*) AS labelled,
              coalesce(sum(EXISTS (SELECT 1 FROM captions c WHERE c.image_id = i.id AND c.deleted = 0 AND c.accepted = 1)), 0) AS captioned
         FROM images i JOIN labels l ON l.image_id = i.id
        WHERE ? IS NULL OR i.collection_id = ?`,
    )
    .get(collectionId, collectionId) as { labelled: number; captioned: number };
  const where = collectionId === null ? 'in the workspace' : 'in this collection';
  if (!labelled)
    throw new PlumageError(
      'unavailable',
      `none of the photos ${where} has a species yet: give some photos a species first (the Species field of a photo, or several photos selected in the gallery), then retrain`,
    );
  if (!captioned && plan.variant !== 'cnn')
    throw new PlumageError(
      'unavailable',
      `none of the photos ${where} that have a species has a caption yet, and the model learns to write captions from them: write or import captions for some of them first (the Caption box of a photo), then retrain`,
    );
}

/**
 * Runs that can be resumed: interrupted (their process died: see jobs/run-owner.ts) or cancelled,
 * with a resume checkpoint that is not finished. `active` are run ids a live job is training right now.
 */
export function resumableRuns(db: Db, ws: Workspace, active: Set<string>): ResumableRun[] {
  markInterruptedRuns(db, ws);
  const rows = db
    .prepare(
      "SELECT id, variant, status, created_at, config FROM runs WHERE status IN ('interrupted', 'cancelled', 'queued') ORDER BY created_at DESC",
    )
    .all() as {
    id: string;
    variant: Variant;
    status: ResumableRun['status'];
    created_at: string;
    config: string;
  }[];
  const out: ResumableRun[] = [];
  for (const r of rows) {
    if (active.has(r.id)) continue;
    try {
      // The position the trainer itself resumes from (kept inside the checkpoint's weights file),
      // so a run is offered exactly when `train:resume` can continue it.
      const s = readResumeState(ws, r.id);
      if (!s || s.finished) continue;
      const cfg = JSON.parse(r.config) as { epochs?: number };
      out.push({
        id: r.id,
        variant: r.variant,
        status: r.status,
        createdAt: r.created_at,
        epoch: s.epoch,
        epochs: cfg.epochs ?? 0,
        globalStep: s.globalStep,
      });
    } catch {
      // a damaged resume state is not offered
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Batch-caption review

/** How many unreadable folder entries a batch lists by name (the rest are counted). */
export const UNREADABLE_SAMPLE = 20;

export function listBatchJobs(db: Db): BatchJobInfo[] {
  const jobs = db
    .prepare(
      `SELECT j.id, j.folder, j.run_id AS runId, j.status, j.created_at AS createdAt, j.finished_at AS finishedAt,
              (SELECT count(*) FROM batch_results r WHERE r.job_id = j.id AND r.error IS NULL) AS results,
              (SELECT count(*) FROM batch_results r WHERE r.job_id = j.id AND r.error IS NOT NULL) AS errors,
              (SELECT count(*) FROM batch_results r WHERE r.job_id = j.id AND r.review != 'pending') AS reviewed,
              (SELECT count(*) FROM batch_unreadable u WHERE u.job_id = j.id) AS unreadable
         FROM batch_jobs j ORDER BY j.id DESC`,
    )
    .all() as Omit<BatchJobInfo, 'unreadableSample'>[];
  const sample = db.prepare(
    `SELECT rel_path AS path, reason FROM batch_unreadable WHERE job_id = ? ORDER BY rel_path LIMIT ${UNREADABLE_SAMPLE}`,
  );
  return jobs.map((j) => ({
    ...j,
    unreadableSample: j.unreadable ? (sample.all(j.id) as BatchJobInfo['unreadableSample']) : [],
  }));
}

interface ResultRow {
  id: number;
  rel_path: string;
  caption: string | null;
  edited_caption: string | null;
  top5: string | null;
  review: BatchReview;
  error: string | null;
}

function jobOr404(db: Db, jobId: number): { id: number; folder: string; run_id: string } {
  const j = db.prepare('SELECT id, folder, run_id FROM batch_jobs WHERE id = ?').get(jobId) as
    { id: number; folder: string; run_id: string } | undefined;
  if (!j) throw new PlumageError('not_found', `no batch-caption job ${jobId}`);
  return j;
}

const toItem = (r: ResultRow): BatchResultItem => ({
  id: r.id,
  relPath: r.rel_path,
  caption: r.caption,
  editedCaption: r.edited_caption,
  top5: r.top5 ? (JSON.parse(r.top5) as BatchResultItem['top5']) : [],
  review: r.review,
  error: r.error,
});

/**
 * Where one result's photo lives: the job's folder and the path captioned in it, looked up by
 * ids only (the thumbnail route; the page never names a path). Null when the job has no such result.
 */
export function batchPhotoLocation(db: Db, jobId: number, resultId: number): { folder: string; relPath: string } | null {
  const row = db
    .prepare(
      'SELECT j.folder, r.rel_path AS relPath FROM batch_results r JOIN batch_jobs j ON j.id = r.job_id WHERE r.job_id = ? AND r.rowid = ?',
    )
    .get(jobId, resultId) as { folder: string; relPath: string } | undefined;
  return row ?? null;
}

export function batchResults(db: Db, jobId: number): BatchResultItem[] {
  jobOr404(db, jobId);
  return (
    db.prepare('SELECT rowid AS id, * FROM batch_results WHERE job_id = ? ORDER BY rel_path').all(jobId) as ResultRow[]
  ).map(toItem);
}

/** Records the curator's verdict on one result; 'edited' needs the corrected caption. */
export function reviewBatchResult(
  db: Db,
  jobId: number,
  relPath: string,
  review: Exclude<BatchReview, 'pending'>,
  caption?: string,
): BatchResultItem {
  jobOr404(db, jobId);
  const row = db
    .prepare('SELECT rowid AS id, * FROM batch_results WHERE job_id = ? AND rel_path = ?')
    .get(jobId, relPath) as ResultRow | undefined;
  if (!row) throw new PlumageError('not_found', `job ${jobId} has no result for '${relPath}'`);
  if (row.error !== null && review !== 'rejected')
    throw new PlumageError(
      'invalid_request',
      `'${relPath}' failed to caption (${row.error}); it can only be rejected`,
    );
  if (review === 'edited' && !caption)
    throw new PlumageError('invalid_request', "review 'edited' needs the corrected caption");
  if (review !== 'edited' && caption !== undefined)
    throw new PlumageError('invalid_request', `a caption is only taken with review 'edited'`);
  db.prepare('UPDATE batch_results SET review = ?, edited_caption = ? WHERE job_id = ? AND rel_path = ?').run(
    review,
    review === 'edited' ? caption : null,
    jobId,
    relPath,
  );
  return toItem(
    db
      .prepare('SELECT rowid AS id, * FROM batch_results WHERE job_id = ? AND rel_path = ?')
      .get(jobId, relPath) as ResultRow,
  );
}

/**
 * Accepted and edited results become images of a collection: by default one for the job's
 * folder (kind 'batch'), or the given collection when the folder lies under its root. Each gets
 * its caption (provenance model:<run>, or human when edited) and the top-1 species as a model
 * label. Importing twice adds nothing twice.
 */
export async function importAccepted(
  db: Db,
  jobId: number,
  collectionId?: number,
): Promise<{ collectionId: number; imported: number; captions: number; skipped: number }> {
  const job = jobOr404(db, jobId);
  let root: string;
  let colId: number;
  if (collectionId !== undefined) {
    const c = db.prepare('SELECT id, root FROM collections WHERE id = ?').get(collectionId) as
      { id: number; root: string } | undefined;
    if (!c) throw new PlumageError('not_found', `no collection ${collectionId}`);
    const rel = relative(c.root, job.folder);
    if (rel.startsWith('..') || resolve(c.root, rel) !== resolve(job.folder))
      throw new PlumageError(
        'invalid_request',
        `the job's folder is not inside collection ${collectionId}'s root`,
      );
    root = c.root;
    colId = c.id;
  } else {
    const c = getOrCreateCollection(db, job.folder, 'batch', basename(job.folder) || job.folder);
    root = c.root;
    colId = c.id;
  }
  const rows = db
    .prepare(
      "SELECT rowid AS id, * FROM batch_results WHERE job_id = ? AND review IN ('accepted', 'edited') AND error IS NULL ORDER BY rel_path",
    )
    .all(jobId) as ResultRow[];
  // Read the files first (async), then write everything in one transaction.
  const files: {
    row: ResultRow;
    rel: string;
    hash: string;
    bytes: number;
    mtime: number;
    width: number;
    height: number;
  }[] = [];
  let skipped = 0;
  for (const row of rows) {
    const abs = join(job.folder, ...row.rel_path.split('/'));
    try {
      const buf = await readFile(abs);
      const meta = await sharp(buf).metadata();
      const rel = relative(root, abs).split(sep).join('/');
      files.push({
        row,
        rel,
        hash: sha256(buf),
        bytes: buf.length,
        mtime: Math.round(statSync(abs).mtimeMs),
        width: meta.width ?? 0,
        height: meta.height ?? 0,
      });
    } catch {
      skipped++; // moved or unreadable since it was captioned
    }
  }
  return tx(db, () => {
    let imported = 0;
    let captions = 0;
    const find = db.prepare('SELECT id FROM images WHERE collection_id = ? AND rel_path = ?');
    const insert = db.prepare(
      `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const hasCaption = db.prepare('SELECT 1 FROM captions WHERE image_id = ? AND text = ? AND deleted = 0');
    for (const f of files) {
      let id = (find.get(colId, f.rel) as { id: number } | undefined)?.id;
      if (id === undefined) {
        id = Number(
          insert.run(colId, f.rel, f.rel.split('/').pop()!, f.hash, f.bytes, f.mtime, f.width, f.height)
            .lastInsertRowid,
        );
        imported++;
      }
      const text = f.row.review === 'edited' ? f.row.edited_caption : f.row.caption;
      if (text && !hasCaption.get(id, text)) {
        addCaption(db, id, text, f.row.review === 'edited' ? 'human' : `model:${job.run_id}`, true);
        captions++;
      }
      const top = f.row.top5 ? (JSON.parse(f.row.top5) as { class: string }[])[0] : undefined;
      const labelled = db.prepare('SELECT 1 FROM labels WHERE image_id = ?').get(id);
      if (top && !labelled) setLabel(db, id, ensureClass(db, colId, top.class, null), `model:${job.run_id}`);
    }
    return { collectionId: colId, imported, captions, skipped };
  });
}

/**
 * Writes the job's results that were not rejected: CSV in the `plumage caption` layout (path,
 * caption, species_k/p_k, run; an edited caption replaces the model's) or COCO-captions JSON.
 */
export async function exportBatch(
  db: Db,
  jobId: number,
  format: 'csv' | 'coco',
  path: string,
  include: 'accepted' | 'all' = 'accepted',
): Promise<{ path: string; rows: number }> {
  const job = jobOr404(db, jobId);
  // By default only what the curator accepted (or edited); 'all' adds unreviewed and rejected rows.
  const which = include === 'all' ? '' : "AND review IN ('accepted', 'edited')";
  const rows = (
    db.prepare(`SELECT rowid AS id, * FROM batch_results WHERE job_id = ? AND error IS NULL ${which} ORDER BY rel_path`).all(jobId) as ResultRow[]
  ).map((r) => ({ ...toItem(r), text: r.review === 'edited' ? r.edited_caption : r.caption, review: r.review === 'pending' ? 'unreviewed' : r.review }));
  const out = resolve(path);
  mkdirSync(dirname(out), { recursive: true });
  if (format === 'csv') {
    // The columns of `plumage caption --out FILE.csv` (jobs/caption.ts), which this module does
    // not import (it would load TF.js into the api process), plus the review status.
    const lines = [
      ['path', 'caption', ...[1, 2, 3, 4, 5].flatMap((k) => [`species_${k}`, `p_${k}`]), 'run', 'review'].join(','),
    ];
    for (const r of rows) {
      const cells = [r.relPath, r.text ?? ''];
      for (let k = 0; k < 5; k++) cells.push(r.top5[k]?.class ?? '', r.top5[k] ? r.top5[k].p.toFixed(4) : '');
      cells.push(job.run_id, r.review);
      lines.push(csvRow(cells));
    }
    writeFileSync(out, lines.join('\n') + '\n');
  } else {
    const images: { id: number; file_name: string; width?: number; height?: number }[] = [];
    for (const [i, r] of rows.entries()) {
      const im: { id: number; file_name: string; width?: number; height?: number } = {
        id: i + 1,
        file_name: r.relPath,
      };
      try {
        const m = await sharp(join(job.folder, ...r.relPath.split('/'))).metadata();
        im.width = m.width;
        im.height = m.height;
      } catch {
        // the file moved since: the entry keeps its name only
      }
      images.push(im);
    }
    const doc = {
      info: {
        description: `Plumage batch captions of ${job.folder} by run ${job.run_id}`,
        date_created: new Date().toISOString(),
      },
      images,
      annotations: rows.flatMap((r, i) => (r.text ? [{ id: i + 1, image_id: i + 1, caption: r.text }] : [])),
      plumage: {
        run: job.run_id,
        folder: job.folder,
        top5: Object.fromEntries(rows.map((r, i) => [i + 1, r.top5])),
        review: Object.fromEntries(rows.map((r, i) => [i + 1, r.review])),
      },
    };
    writeFileSync(out, JSON.stringify(doc));
  }
  return { path: out, rows: rows.length };
}
