/**
 * Batch captioning: every file under a folder that sharp can decode goes through the run's
 * encoder and model; each gets a caption (the product decoding: beam search, width 3 by default,
 * no repeated bigram, words ranked against the run's prior feature), the top-5 species
 * with probabilities and the run id. Progress is recorded per file in batch_jobs/batch_results,
 * so a rerun of the same folder with the same run skips the files already done (resumable);
 * undecodable files are recorded with their reason and listed, and so are entries of the folder
 * that cannot be listed (a symbolic link loop, an unreadable sub-folder): the rest is captioned.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { CaptionJobResult } from '../../shared/types.ts';
import { openDb, type Db } from '../data/store.ts';
import { getRun, type RunRecord } from '../data/runs.ts';
import { workspace, type Workspace } from '../data/workspace.ts';
import { csvRow } from '../util/csv.ts';
import { invalidRequest, ioError, notFound } from '../util/errors.ts';
import { initBackend } from '../ml/backend.ts';
import { PRODUCT_DECODING, productDecode, type BeamOptions } from '../ml/decode.ts';
import { isCached, resolveEncoder, type LoadedEncoder } from '../ml/encoders/load.ts';
import { splitTiledId } from '../ml/encoders/tiles.ts';
import { encoderEntry } from '../ml/encoders/registry.ts';
import { classify, feature, hasCap, hasCls, paramsFromTensors, pooled, type Variant } from '../ml/model.ts';
import { decodedIndices, embedImages, forEachDecodedChunk } from './encode-batch.ts';
import { rememberedEncoderPath } from './extract.ts';
import { loadRunWeights, readSidecar, requireCheckpoint, type Sidecar } from './run-artifact.ts';
import { decodeCaption } from './train/dataset.ts';

export interface CaptionOptions {
  home: string;
  folder: string;
  run: string;
  out?: string;
  beam?: number;
  /** γ of the product decoding's contrastive ranking (0 = off; default PRODUCT_DECODING's). */
  contrast?: number;
  batchSize?: number;
  encoderPath?: string;
  /** --encoder: a registry id (must be the run's encoder). */
  encoder?: string;
  /** An encoder already loaded (bench, tests). */
  loaded?: LoadedEncoder;
  onProgress?: (done: number, total: number) => void;
  onWarning?: (w: string) => void;
  signal?: AbortSignal;
}

export interface CaptionRow {
  path: string;
  caption: string | null;
  top5: { class: string; p: number }[];
  run: string;
}

/** The caption job's result as the window gets it, plus what the CLI prints and writes. */
export interface CaptionResult extends CaptionJobResult {
  out: string | null;
  /** How many of `errors` are folder entries that could not be listed (stored with the job). */
  unreadable: number;
  seconds: number;
  images_per_s: number;
  results: CaptionRow[];
}

const SKIP_EXT = new Set(['.txt', '.json', '.csv', '.md', '.db', '.ini']);

type Listed = { path: string; reason: string };

/** A one-line reason for an entry that cannot be listed (symbolic link loop, permission denied, …). */
function entryReason(e: unknown, what: 'folder' | 'entry'): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return 'symbolic link loop (ELOOP)';
  if (code === 'EACCES' || code === 'EPERM') return `${what} unreadable: permission denied (${code})`;
  if (code === 'ENOENT') return 'broken symbolic link (target does not exist)';
  return `${what} unreadable: ${code ?? (e as Error).message}`;
}

/**
 * Every regular file under the folder (hidden entries skipped), sorted, as '/'-separated relative
 * paths, and the entries that could not be listed with their reason: one bad entry (a symbolic
 * link loop, an unreadable sub-folder) never stops the rest. Linked folders are followed once (a
 * link back to a folder already listed is reported, not walked again). Only an unreadable root fails.
 */
export function listFiles(root: string): { files: string[]; errors: Listed[] } {
  const files: string[] = [];
  const errors: Listed[] = [];
  const seen = new Set<string>();
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  const walk = (dir: string) => {
    const st = statSync(dir);
    seen.add(`${st.dev}:${st.ino}`);
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      let s;
      try {
        s = statSync(p);
      } catch (e) {
        errors.push({ path: rel(p), reason: entryReason(e, 'entry') });
        continue;
      }
      if (s.isDirectory()) {
        if (seen.has(`${s.dev}:${s.ino}`)) errors.push({ path: rel(p), reason: 'symbolic link loop (a folder already listed)' });
        else walkSafely(p);
      } else if (s.isFile() && !SKIP_EXT.has(extname(name).toLowerCase())) files.push(rel(p));
    }
  };
  const walkSafely = (dir: string) => {
    try {
      walk(dir);
    } catch (e) {
      errors.push({ path: rel(dir), reason: entryReason(e, 'folder') });
    }
  };
  try {
    readdirSync(root);
  } catch (e) {
    throw ioError(`cannot read folder ${root}: ${entryReason(e, 'folder')}`, { cause: e });
  }
  walk(root);
  return { files, errors };
}

/** The job's unreadable folder entries become those of this listing (an entry fixed since is dropped). */
function storeUnreadable(db: Db, job: number, entries: Listed[]) {
  db.transaction(() => {
    db.prepare('DELETE FROM batch_unreadable WHERE job_id = ?').run(job);
    const add = db.prepare('INSERT INTO batch_unreadable (job_id, rel_path, reason) VALUES (?, ?, ?)');
    for (const e of entries) add.run(job, e.path, e.reason);
  })();
}

export function writeCaptionOutput(
  file: string,
  rows: CaptionRow[],
  errors: { path: string; reason: string }[],
  meta: { run: string; folder: string },
) {
  if (file.toLowerCase().endsWith('.json')) {
    writeFileSync(
      file,
      JSON.stringify({ run: meta.run, folder: meta.folder, results: rows, errors }, null, 2),
    );
    return;
  }
  // Every file and unreadable entry of the folder: a skipped one has only its path, run and error.
  const head = ['path', 'caption', ...[1, 2, 3, 4, 5].flatMap((k) => [`species_${k}`, `p_${k}`]), 'run', 'error'];
  const lines = [head.join(',')];
  for (const r of rows) {
    const cells = [r.path, r.caption ?? ''];
    for (let k = 0; k < 5; k++) cells.push(r.top5[k]?.class ?? '', r.top5[k] ? r.top5[k].p.toFixed(4) : '');
    cells.push(r.run, '');
    lines.push(csvRow(cells));
  }
  for (const e of errors) lines.push(csvRow([e.path, ...Array<string>(11).fill(''), meta.run, e.reason]));
  writeFileSync(file, lines.join('\n') + '\n');
}

/** The run's model and an encoder that gives the features it was trained on. */
interface CaptionModel {
  run: RunRecord;
  side: Sidecar;
  variant: Variant;
  params: Record<string, tf.Variable>;
  enc: LoadedEncoder;
}

/**
 * The encoder for a run: --encoder-path, else the registry entry when cached, else the folder
 * the run was trained from (if it still exists), else the registry entry (downloaded once).
 */
async function runEncoder(ws: Workspace, opts: CaptionOptions, run: RunRecord, side: Sidecar): Promise<LoadedEncoder> {
  if (opts.loaded) return opts.loaded;
  const local = side.encoderPath ?? rememberedEncoderPath(opts.home, run.encoder);
  const localOk = local !== null && existsSync(local);
  const { base, tiles } = splitTiledId(run.encoder);
  const encoderPath =
    opts.encoderPath ??
    (encoderEntry(base) && (isCached(ws.encoders, base) || !localOk) ? undefined : (local ?? undefined));
  return resolveEncoder(ws.encoders, {
    encoder: encoderPath ? undefined : (opts.encoder ?? run.encoder),
    encoderPath,
    tiles: encoderPath ? tiles : undefined,
    onWarning: opts.onWarning,
  });
}

/** Loads the run's best weights and its encoder; the caller disposes both (disposeModel). */
async function loadCaptionModel(ws: Workspace, db: Db, opts: CaptionOptions): Promise<CaptionModel> {
  const run = getRun(db, opts.run);
  if (!run) throw notFound(`no run ${opts.run}`);
  requireCheckpoint(ws, run);
  const side = readSidecar(ws, run.id);
  const variant = run.variant as Variant;
  const weights = loadRunWeights(ws, run.id);
  const params = paramsFromTensors(weights, variant).params;
  for (const t of Object.values(weights)) t.dispose();
  let enc: LoadedEncoder;
  try {
    enc = await runEncoder(ws, opts, run, side);
  } catch (e) {
    for (const p of Object.values(params)) p.dispose();
    throw e;
  }
  const model = { run, side, variant, params, enc };
  if (enc.id !== run.encoder) {
    disposeModel(model, opts);
    throw invalidRequest(`run ${run.id} was trained on encoder ${run.encoder} features, but ${enc.id} was loaded (pass --encoder-path)`);
  }
  return model;
}

function disposeModel(m: CaptionModel, opts: CaptionOptions): void {
  for (const p of Object.values(m.params)) p.dispose();
  if (!opts.loaded) m.enc.dispose();
}

/** The batch job for this folder and run: the latest one (resumed), else a new one; and the files it has done. */
function openBatchJob(db: Db, folder: string, run: string): { job: number; done: Set<string> } {
  const prev = db.prepare(`SELECT id FROM batch_jobs WHERE folder = ? AND run_id = ? ORDER BY id DESC LIMIT 1`).get(folder, run) as
    | { id: number }
    | undefined;
  const job = prev ? prev.id : Number(db.prepare(`INSERT INTO batch_jobs (folder, run_id, status) VALUES (?, ?, 'running')`).run(folder, run).lastInsertRowid);
  db.prepare(`UPDATE batch_jobs SET status = 'running', finished_at = NULL WHERE id = ?`).run(job);
  const rows = db.prepare(`SELECT rel_path FROM batch_results WHERE job_id = ?`).all(job) as { rel_path: string }[];
  return { job, done: new Set(rows.map((r) => r.rel_path)) };
}

type ChunkRow = { caption: string | null; top5: CaptionRow['top5'] };

/** Caption and top-5 species of decoded images (by their index in the chunk). */
function captionImages(m: CaptionModel, images: Uint8Array[], decoding: BeamOptions): ChunkRow[] {
  const A = embedImages(m.enc, images);
  const feat = tf.tidy(() => feature(m.params, m.variant, pooled(A)));
  A.dispose();
  const probs = hasCls(m.variant) ? (tf.tidy(() => tf.softmax(classify(m.params, feat))).arraySync() as number[][]) : null;
  let caps: number[][] | null = null;
  if (hasCap(m.variant)) {
    const ids = productDecode(m.params, feat, m.side.maxLen ?? 20, decoding, m.side.captionPrior);
    caps = ids.arraySync() as number[][];
    ids.dispose();
  }
  feat.dispose();
  return images.map((_, k) => ({
    caption: caps ? decodeCaption(caps[k], m.side.vocab) : null,
    top5: probs
      ? probs[k]
          .map((p, c) => ({ class: m.side.classes[c]?.name ?? String(c), p }))
          .sort((a, b) => b.p - a.p)
          .slice(0, 5)
      : [],
  }));
}

/** Every file of the job still in the folder (this session's and earlier ones): results and errors. */
function jobResults(db: Db, job: number, run: string, listing: { files: string[]; errors: Listed[] }) {
  const present = new Set(listing.files);
  const all = (
    db.prepare(`SELECT rel_path, caption, top5, error FROM batch_results WHERE job_id = ? ORDER BY rel_path`).all(job) as {
      rel_path: string;
      caption: string | null;
      top5: string | null;
      error: string | null;
    }[]
  ).filter((r) => present.has(r.rel_path));
  const results: CaptionRow[] = all
    .filter((r) => r.error === null)
    .map((r) => ({ path: r.rel_path, caption: r.caption, top5: r.top5 ? JSON.parse(r.top5) : [], run }));
  const failed = all.filter((r) => r.error !== null).map((r) => ({ path: r.rel_path, reason: r.error! }));
  const errors = [...listing.errors, ...failed].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { results, errors };
}

export async function runCaption(opts: CaptionOptions): Promise<CaptionResult> {
  const ws = workspace(opts.home);
  await initBackend();
  const folder = resolve(opts.folder);
  const db = openDb(ws.dbPath);
  try {
    const m = await loadCaptionModel(ws, db, opts);
    try {
      return await captionFolderWith(db, m, folder, opts);
    } finally {
      disposeModel(m, opts);
    }
  } finally {
    db.close();
  }
}

/** Captions the files of the folder the job has not done yet, a chunk at a time, and writes the output file. */
async function captionFolderWith(db: Db, m: CaptionModel, folder: string, opts: CaptionOptions): Promise<CaptionResult> {
  const { job, done } = openBatchJob(db, folder, m.run.id);
  const listing = listFiles(folder);
  storeUnreadable(db, job, listing.errors);
  const files = listing.files;
  const todo = files.filter((f) => !done.has(f));
  const insert = db.prepare(`INSERT OR REPLACE INTO batch_results (job_id, rel_path, caption, top5, error) VALUES (?, ?, ?, ?, ?)`);
  const t0 = Date.now();
  let captioned = 0;
  const pathOf = (rel: string) => join(folder, ...rel.split('/'));
  const decoding = { width: opts.beam ?? PRODUCT_DECODING.width, contrast: opts.contrast ?? PRODUCT_DECODING.contrast };
  const { cancelled } = await forEachDecodedChunk(todo, pathOf, m.enc.inputSize, opts, async (chunk, got) => {
    const decoded = got.map((d) => d || 'cannot decode');
    const okIdx = decodedIndices(decoded);
    const rows = new Map<number, ChunkRow>();
    if (okIdx.length) {
      const captions = captionImages(m, okIdx.map((j) => decoded[j] as Uint8Array), decoding);
      okIdx.forEach((j, k) => rows.set(j, captions[k]));
    }
    db.transaction(() => {
      chunk.forEach((rel, j) => {
        const r = rows.get(j);
        if (r) insert.run(job, rel, r.caption, JSON.stringify(r.top5), null);
        else insert.run(job, rel, null, null, decoded[j] as string);
      });
    })();
    captioned += rows.size;
  });
  const seconds = (Date.now() - t0) / 1000;
  db.prepare(`UPDATE batch_jobs SET status = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`).run(
    cancelled ? 'cancelled' : 'done',
    job,
  );
  const { results, errors } = jobResults(db, job, m.run.id, listing);
  if (opts.out) writeCaptionOutput(resolve(opts.out), results, errors, { run: m.run.id, folder });
  return {
    job,
    run: m.run.id,
    folder,
    out: opts.out ? resolve(opts.out) : null,
    files: files.length,
    captioned,
    skipped_done: files.length - todo.length,
    errors,
    unreadable: listing.errors.length,
    seconds,
    images_per_s: seconds > 0 ? captioned / seconds : 0,
    status: cancelled ? 'cancelled' : 'done',
    results,
  };
}
