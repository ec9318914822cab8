/**
 * kill -9 at seeded random points of import, caption edits through the api, training and batch
 * captioning (TRIALS each). After every kill: the database passes `PRAGMA integrity_check`, no
 * acknowledged edit is lost, an import run again completes to the same contents, a training run is
 * marked interrupted and resumes to exactly the weights of an uninterrupted run, and batch
 * captioning resumes to exactly the CSV of an uninterrupted run. Tiny data keeps it fast.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResumableRun } from '../../shared/types.ts';
import { createApi } from '../../src-main/api/service.ts';
import { getRun } from '../../src-main/data/runs.ts';
import { importDataset } from '../../src-main/data/importers/index.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { runCaption } from '../../src-main/jobs/caption.ts';
import type { LoadedEncoder } from '../../src-main/ml/encoders/load.ts';
import { checkpointPaths, hasResume } from '../../src-main/jobs/run-artifact.ts';
import { runTraining } from '../../src-main/jobs/train/loop.ts';
import { readSafetensors } from '../../src-main/ml/safetensors.ts';
import { mulberry32 } from '../../src-main/util/rng.ts';
import { invokeOk } from '../helpers/invoke.ts';
import { recordFaultTotals } from './totals.ts';
import { TM, TRAIN_ARGS, TRAIN_CONFIG, trainedWorkspace } from './trained.ts';

const TRIALS = 5;
const BIN = resolve(process.cwd(), 'bin/plumage.js');
const WRITER = resolve(process.cwd(), 'test/fault/edit-writer.ts');
// The same backend in the children and here, so resumed weights can be compared bit for bit.
process.env.PLUMAGE_BACKEND = 'wasm';
const env = { ...process.env, PLUMAGE_BACKEND: 'wasm' };
const rand = mulberry32(20261201);
const totals = { cases: 0, lostEdits: 0, crashes: 0 };
/** How many trials of each kind the kill landed in (the others finished first), reported at the end. */
const killed: Record<string, number> = { import: 0, edits: 0, training: 0, beforeCheckpoint: 0, captioning: 0 };


let root = '';
let base = ''; // a workspace with the synthetic birds imported, features cached and one run trained
let cub = '';
let captionRun = '';
let captionsDir = '';
let encoder: LoadedEncoder | null = null; // loaded once for every batch caption run in this process

interface Child {
  stdout: string;
  stderr: string;
  /** Whether the child was killed (false: it finished before the kill point). */
  killed: boolean;
  code: number | null;
  ms: number;
}

/**
 * Runs `node args…` and SIGKILLs it `killAfterMs` after the first output line matching `marker`
 * (after the start when no marker); never kills when killAfterMs is Infinity.
 */
function runChild(args: string[], killAfterMs: number, marker?: RegExp): Promise<Child> {
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  let armed = false;
  let killed = false;
  const arm = () => {
    if (armed || !Number.isFinite(killAfterMs)) return;
    armed = true;
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL');
    }, killAfterMs);
  };
  const watch = (key: 'stdout' | 'stderr') => (d: Buffer) => {
    out[key] += d.toString();
    if (marker && marker.test(out[key])) arm();
  };
  child.stdout.on('data', watch('stdout'));
  child.stderr.on('data', watch('stderr'));
  if (!marker) arm();
  return new Promise((done) =>
    child.on('exit', (code) => done({ ...out, killed, code, ms: Date.now() - t0 })),
  );
}

const cli = (args: string[], killAfterMs = Infinity, marker?: RegExp) => runChild([BIN, ...args], killAfterMs, marker);

function copyHome(name: string): string {
  const home = join(root, name);
  cpSync(base, home, { recursive: true });
  return home;
}

function integrity(home: string): string {
  const db = openDb(workspace(home).dbPath);
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

function counts(home: string) {
  const db = openDb(workspace(home).dbPath);
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      images: n('SELECT count(*) n FROM images'),
      distinctImages: n('SELECT count(DISTINCT rel_path) n FROM images'),
      labels: n('SELECT count(*) n FROM labels'),
      captions: n('SELECT count(*) n FROM captions WHERE deleted = 0'),
    };
  } finally {
    db.close();
  }
}

/** What the app's Resume button does: the api lists the run as interrupted, train:resume finishes it. */
/**
 * A run killed before its first resume checkpoint has nothing to resume from: the api marks it
 * interrupted (with the reason), leaves it off the resumable list and refuses to resume it in words.
 */
async function expectNothingToResume(home: string, run: string): Promise<void> {
  const api = createApi({ home, log: () => {} });
  try {
    const list = await invokeOk<ResumableRun[]>(api, 'train:resumable');
    expect(list.map((r) => r.id)).not.toContain(run);
    const refused = await api.invoke('train:resume', { runId: run });
    expect(refused.error).toMatchObject({ code: 'not_found', message: `run ${run} has no resumable checkpoint (or is training now)` });
  } finally {
    api.close();
  }
  const db = openDb(workspace(home).dbPath);
  try {
    expect(getRun(db, run)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/^the training process \(pid \d+\) stopped before the run finished$/) });
  } finally {
    db.close();
  }
}

async function resumeThroughApi(home: string, run: string): Promise<void> {
  const api = createApi({ home, log: () => {} });
  try {
    const list = await invokeOk<ResumableRun[]>(api, 'train:resumable');
    expect(list.map((r) => [r.id, r.status])).toEqual([[run, 'interrupted']]);
    const { jobId } = await invokeOk<{ jobId: string }>(api, 'train:resume', { runId: run });
    const done = await api.jobs.wait(jobId);
    expect(done.status, done.message ?? '').toBe('done');
  } finally {
    api.close();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'plumage-kill-'));
  const trained = await trainedWorkspace(root);
  ({ home: base, cub, run: captionRun, encoder } = trained);
  captionsDir = trained.captionsDir;
}, 240_000);

afterAll(() => {
  console.log(`kill -9 trials: killed mid-way ${JSON.stringify(killed)} of ${TRIALS} each; lost edits ${totals.lostEdits}`);
  recordFaultTotals({ suite: 'kill -9 trials', cases: totals.cases, clearErrors: 0, crashes: totals.crashes, lostEdits: totals.lostEdits, acceptedInvalid: 0 });
  encoder?.dispose();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('kill -9 trials', () => {
  it('import: killed at random points, the database stays whole and a rerun imports exactly everything', async () => {
    const fresh = (name: string) => join(root, name);
    const ref = await cli(['import', 'cub', cub, '--captions', captionsDir, '--home', fresh('imp-ref'), '--json']);
    expect(ref.code, ref.stderr).toBe(0);
    const want = counts(fresh('imp-ref'));
    for (let t = 0; t < TRIALS; t++) {
      const home = fresh(`imp-${t}`);
      const c = await cli(['import', 'cub', cub, '--captions', captionsDir, '--home', home, '--json'], rand() * ref.ms);
      totals.cases++;
      if (c.killed) killed.import++;
      else expect(c.code, c.stderr).toBe(0);
      expect(integrity(home)).toBe('ok');
      const ws = workspace(home);
      const db = openDb(ws.dbPath);
      await importDataset(db, ws, 'cub', cub, { captions: captionsDir });
      db.close();
      expect(counts(home)).toEqual(want);
    }
  }, 180_000);

  it('caption edits through the api: every acknowledged edit survives the kill', async () => {
    for (let t = 0; t < TRIALS; t++) {
      const home = copyHome(`edit-${t}`);
      const c = await runChild(['--import', 'tsx', WRITER, home, String(t + 1)], 200 + rand() * 1500, /^ACK /m);
      totals.cases++;
      expect(c.killed, c.stderr).toBe(true);
      killed.edits++;
      expect(c.stdout).not.toMatch(/^ERR /m);
      expect(integrity(home)).toBe('ok');
      const acks = [...c.stdout.matchAll(/^ACK (\d+) (\d+)$/gm)].map((m) => ({ caption: Number(m[1]), seq: Number(m[2]) }));
      expect(acks.length).toBeGreaterThan(0);
      const db = openDb(workspace(home).dbPath);
      const textOf = db.prepare('SELECT text FROM captions WHERE id = ? AND deleted = 0');
      let lost = 0;
      for (const a of acks) {
        // The caption holds this edit or a later one (a later save may have committed unacknowledged).
        const now = (textOf.get(a.caption) as { text: string } | undefined)?.text ?? '';
        const m = /^(?:edit|added) (\d+)$/.exec(now);
        if (!m || Number(m[1]) < a.seq) lost++;
      }
      db.close();
      totals.lostEdits += lost;
      expect(lost).toBe(0);
    }
  }, 180_000);

  it('training: a killed run is marked interrupted and resumes to exactly the uninterrupted weights', async () => {
    const refHome = copyHome('train-ref');
    const t0 = Date.now();
    const ref = await runTraining({ home: refHome, config: TRAIN_CONFIG });
    const trainMs = Date.now() - t0; // the kill point is drawn within this, after the child's start-up
    expect(ref.status).toBe('done');
    const finalWeights = (home: string, run: string) => readSafetensors(checkpointPaths(workspace(home), run).resumeWeights).tensors;
    const want = finalWeights(refHome, ref.run);
    let interrupted = 0;
    for (let t = 0; t < TRIALS; t++) {
      const home = copyHome(`train-${t}`);
      const c = await cli(['train', ...TRAIN_ARGS, '--checkpoint-minutes', '0.003', '--home', home, '--json'], rand() * trainMs, /^run r\S+: /m);
      totals.cases++;
      expect(integrity(home)).toBe('ok');
      const run = /^run (r\S+): /m.exec(c.stderr)?.[1];
      expect(run, c.stderr).toBeDefined();
      // `train` scores the collection after training: a kill that lands there leaves a finished run.
      const finished = () => {
        const db = openDb(workspace(home).dbPath);
        try {
          return getRun(db, run!)!.status === 'done';
        } finally {
          db.close();
        }
      };
      if (c.killed && !finished() && !hasResume(workspace(home), run!)) {
        // The kill landed before the first checkpoint's weights file was complete (written right
        // after the run starts, so rarely): there is nothing to resume from.
        await expectNothingToResume(home, run!);
        killed.beforeCheckpoint++;
        continue;
      }
      if (c.killed && !finished()) {
        interrupted++;
        killed.training++;
        if (interrupted === 1) await resumeThroughApi(home, run!);
        else expect((await runTraining({ home, config: { variant: 'medi' }, resume: run })).status).toBe('done');
      } else if (!c.killed) expect(c.code, c.stderr).toBe(0);
      const db = openDb(workspace(home).dbPath);
      const rec = getRun(db, run!)!;
      db.close();
      expect(rec.status).toBe('done');
      expect(rec.epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
      const got = finalWeights(home, run!);
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const n of Object.keys(want)) expect(Array.from(got[n].data), n).toEqual(Array.from(want[n].data));
    }
    expect(interrupted).toBeGreaterThan(0);
  }, 300_000);

  it('batch captioning: a killed job resumes to exactly the uninterrupted CSV, bad entries listed', async () => {
    const folder = join(root, 'to-caption');
    mkdirSync(folder);
    for (const d of readdirSync(join(cub, 'images')).sort())
      for (const f of readdirSync(join(cub, 'images', d)).sort()) cpSync(join(cub, 'images', d, f), join(folder, `${d}-${f}`));
    writeFileSync(join(folder, 'notes.jpg'), 'not a photo');
    symlinkSync('loop', join(folder, 'loop')); // a symbolic link loop: listed, the rest captioned
    // The uninterrupted reference through the CLI: bad entries are listed, the CSV is written.
    const refHome = copyHome('cap-ref');
    const refOut = join(root, 'cap-ref.csv');
    const ref = await cli(['caption', folder, '--run', captionRun, '--out', refOut, '--home', refHome, '--encoder-path', TM, '--json']);
    expect(ref.code, ref.stderr).toBe(0);
    expect(ref.stderr).toMatch(/skipped loop: symbolic link loop \(ELOOP\)/);
    expect(ref.stderr).toMatch(/skipped notes.jpg: /);
    const want = readFileSync(refOut, 'utf8');
    expect(want.trim().split('\n')).toHaveLength(1 + 12 + 2); // header, photos, the two skipped with their reason
    for (let t = 0; t < TRIALS; t++) {
      const home = copyHome(`cap-${t}`);
      const out = join(root, `cap-${t}.csv`);
      const c = await cli(['caption', folder, '--run', captionRun, '--out', out, '--home', home, '--encoder-path', TM, '--json'], rand() * ref.ms);
      totals.cases++;
      if (c.killed) killed.captioning++;
      else expect(c.code, c.stderr).toBe(0);
      expect(integrity(home)).toBe('ok');
      const res = await runCaption({ home, folder, run: captionRun, out, loaded: encoder! });
      expect(res.errors.map((e) => e.path)).toEqual(['loop', 'notes.jpg']);
      expect(res.unreadable).toBe(1);
      expect(readFileSync(out, 'utf8')).toBe(want);
    }
  }, 300_000);
});
