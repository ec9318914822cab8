/**
 * Access to the `runs` table (docs/design.md: Data): one row per training run or imported model, with its
 * configuration, encoder, backend, dataset version, status, per-epoch losses, timings,
 * checkpoint and warnings. JSON columns are parsed here so callers see plain objects.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from './store.ts';
import { notFound } from '../util/errors.ts';
import type { RunStatus, Variant } from '../../shared/types.ts';

export interface RunRecord {
  id: string;
  createdAt: string;
  collectionId: number | null;
  variant: Variant;
  encoder: string;
  backend: string;
  config: Record<string, unknown>;
  datasetVersion: string;
  status: RunStatus;
  parentRun: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  timings: Record<string, unknown> | null;
  epochs: Record<string, unknown>[];
  metrics: Record<string, unknown> | null;
  checkpoint: string | null;
  warnings: string[];
  error: string | null;
}

interface Row {
  id: string;
  created_at: string;
  collection_id: number | null;
  variant: Variant;
  encoder: string;
  backend: string;
  config: string;
  dataset_version: string;
  status: RunStatus;
  parent_run: string | null;
  started_at: string | null;
  finished_at: string | null;
  timings: string | null;
  epochs: string;
  metrics: string | null;
  checkpoint: string | null;
  warnings: string;
  error: string | null;
}

const now = () => new Date().toISOString();

/** Run ids sort by creation time and stay short enough to type: r20250101-120000-ab12. */
export function newRunId(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return `r${stamp}-${randomBytes(2).toString('hex')}`;
}

/** A run's name from its configuration (Retrain's settings), or null when it has none. */
export function runName(name: unknown): string | null {
  return typeof name === 'string' && name.trim() ? name.trim() : null;
}

function fromRow(r: Row): RunRecord {
  return {
    id: r.id,
    createdAt: r.created_at,
    collectionId: r.collection_id,
    variant: r.variant,
    encoder: r.encoder,
    backend: r.backend,
    config: JSON.parse(r.config),
    datasetVersion: r.dataset_version,
    status: r.status,
    parentRun: r.parent_run,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    timings: r.timings ? JSON.parse(r.timings) : null,
    epochs: JSON.parse(r.epochs),
    metrics: r.metrics ? JSON.parse(r.metrics) : null,
    checkpoint: r.checkpoint,
    warnings: JSON.parse(r.warnings),
    error: r.error,
  };
}

export interface NewRun {
  id?: string;
  collectionId?: number | null;
  variant: Variant;
  encoder: string;
  backend: string;
  config: Record<string, unknown>;
  datasetVersion: string;
  status?: RunStatus;
  parentRun?: string | null;
  warnings?: string[];
}

export function createRun(db: Db, r: NewRun): RunRecord {
  const id = r.id ?? newRunId();
  const status = r.status ?? 'queued';
  db.prepare(
    `INSERT INTO runs (id, collection_id, variant, encoder, backend, config, dataset_version, status, parent_run, started_at, warnings)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    r.collectionId ?? null,
    r.variant,
    r.encoder,
    r.backend,
    JSON.stringify(r.config),
    r.datasetVersion,
    status,
    r.parentRun ?? null,
    status === 'running' ? now() : null,
    JSON.stringify(r.warnings ?? []),
  );
  return getRun(db, id)!;
}

export function getRun(db: Db, id: string): RunRecord | null {
  const r = db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as Row | undefined;
  return r ? fromRow(r) : null;
}

export function listRuns(db: Db, opts: { variant?: Variant; status?: RunStatus } = {}): RunRecord[] {
  const rows = db
    .prepare(
      `SELECT * FROM runs WHERE (? IS NULL OR variant = ?) AND (? IS NULL OR status = ?) ORDER BY created_at DESC, id DESC`,
    )
    .all(opts.variant ?? null, opts.variant ?? null, opts.status ?? null, opts.status ?? null) as Row[];
  return rows.map(fromRow);
}

/** The most recent finished run (optionally of one variant): what "latest model" means in the UI. */
export function latestRun(db: Db, variant?: Variant): RunRecord | null {
  return listRuns(db, { variant, status: 'done' })[0] ?? null;
}

export interface RunUpdate {
  status?: RunStatus;
  backend?: string;
  config?: Record<string, unknown>;
  timings?: Record<string, unknown>;
  epochs?: Record<string, unknown>[];
  metrics?: Record<string, unknown>;
  checkpoint?: string | null;
  warnings?: string[];
  error?: string | null;
}

/** Updates the given fields; setting a running status stamps started_at, a final one finished_at. */
export function updateRun(db: Db, id: string, u: RunUpdate): void {
  const sets: string[] = [];
  const vals: unknown[] = [];
  const put = (col: string, v: unknown) => {
    sets.push(`${col} = ?`);
    vals.push(v);
  };
  if (u.status !== undefined) {
    put('status', u.status);
    if (u.status === 'running') {
      put('started_at', now());
      put('finished_at', null);
    } else if (u.status !== 'queued')
      put('finished_at', now());
  }
  if (u.backend !== undefined) put('backend', u.backend);
  if (u.config !== undefined) put('config', JSON.stringify(u.config));
  if (u.timings !== undefined) put('timings', JSON.stringify(u.timings));
  if (u.epochs !== undefined) put('epochs', JSON.stringify(u.epochs));
  if (u.metrics !== undefined) put('metrics', JSON.stringify(u.metrics));
  if (u.checkpoint !== undefined) put('checkpoint', u.checkpoint);
  if (u.warnings !== undefined) put('warnings', JSON.stringify(u.warnings));
  if (u.error !== undefined) put('error', u.error);
  if (!sets.length) return;
  vals.push(id);
  db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = ?`).run(...vals);
}

/** Appends one epoch record to the per-epoch log. */
export function appendEpoch(db: Db, id: string, epoch: Record<string, unknown>): void {
  const run = getRun(db, id);
  if (!run) throw notFound(`no run ${id}`);
  updateRun(db, id, { epochs: [...run.epochs, epoch] });
}
