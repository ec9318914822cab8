/**
 * Retrain after edits: how long a person waits between correcting captions and having a new,
 * evaluated model. Goal: under 60 s on the native backend, under 120 s on wasm.
 *
 * Prepared first, NOT timed (what a person has done before): the 5 real CUB classes of
 * ../shared imported with their text_c10 captions, features extracted with the local
 * MobileNetV2-0.35 (cached), a first run trained (the `plumage train --variant cam` defaults).
 * Timed, per backend, on a copy of that workspace: 20 captions edited through the api
 * (`captions:save`, what the caption editor sends), then `train:start {}` (what the Retrain button
 * sends) until its job has ended: the new run trained, tested on the test part and the collection
 * scored with it (what the Retrain panel waits for before "Training finished").
 *
 * One line per backend:
 *   {"bench":"retrain","backend":"node","images":282,"edits":20,"ms":…,"seconds":…,"cpu_ms":…,
 *    "edit_s":…,"startup_s":…,"train_s":…,"val_s":…,"test_s":…,"score_s":…,"goal_s":60,"ratio":…,…}
 * ratio = seconds / goal_s (≤ 1: the goal is met). cpu_ms: CPU time of the process (every
 * thread) over the timed part, which a loaded machine inflates far less than the wall time.
 * Splits: startup_s, job start → the trainer's first event (worker, backend, dataset, warm
 * start); train_s, → the last epoch on record (val_s of it: from each epoch's last step to its
 * record, i.e. validation and the best checkpoint); test_s, → scoring begins (test part, worker
 * exit); score_s, → the job's end.
 * After the timed part, untimed: the new run's full evaluation on the test part (evaluateRun):
 * top-1, CIDEr-D of the greedy and of the product decoding, CAM agreement.
 * Backends: PLUMAGE_BACKEND when set (`npm run bench -- retrain --backends node,wasm`), else
 * node when tfjs-node is built, then wasm. A failed step ends the bench with exit 1 and one line.
 *
 * Options (the rounds sweep of docs/model.md "Retrain after edits"):
 *   --home DIR        keep the prepared workspace in DIR and reuse it on the next call (prepared
 *                     once: about 2 minutes of the untimed first training saved per call)
 *   --epochs 3,5,8    one timed Retrain per count, each asking for that many rounds (the request's
 *                     `epochs`, as the Retrain dialog sends it); default: the Retrain button's plan
 *   --seeds 1,2       one timed Retrain per seed (the run's `seed`); default: the plan's
 *   --lr 0.001        the Retrain's learning rate (the request's `lr`); default: the parent's
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ImageDetail, ImagePage, JobDetail, JobInfo } from '../shared/types.ts';
import { planRetrain } from '../src-main/api/insights.ts';
import { createApi, type PlumageApi } from '../src-main/api/service.ts';
import { quietIo, withOpContext, type OpEvent } from '../src-main/api/ops/context.ts';
import { train, type TrainOutcome } from '../src-main/api/ops/train.ts';
import { evaluateRun } from '../src-main/jobs/evaluate.ts';
import { runExtract } from '../src-main/jobs/extract.ts';
import { nativeMissing } from '../src-main/ml/backend-probe.ts';
import { invokeOk as invoke } from '../test/helpers/invoke.ts';
import { SHARED_ENCODER, sharedPath } from '../test/helpers/shared.ts';

const CUB = sharedPath('ref-data', 'cub-200-2011', 'CUB_200_2011');
const CAPTIONS = sharedPath('ref-data', 'cub-200-2011', 'text_c10');
const EDITS = 20;
const GOAL_S: Record<string, number> = { node: 60, wasm: 120 };

/** A step that failed: the bench says which, in one line. */
class StepError extends Error {}

async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError(`${what}: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
  }
}

/** Waits for an api job; throws its message unless it finished. */
async function finished(api: PlumageApi, jobId: string): Promise<JobInfo> {
  const job = await api.jobs.wait(jobId);
  if (job.status !== 'done') throw new Error(`job ${job.label} ${job.status}: ${job.message ?? 'no reason given'}`);
  return job;
}

/** Marks a workspace `prepare` finished (a kept one is reused only then); holds its photo count. */
const PREPARED = 'bench-retrain-prepared.json';

/** The workspace a person has before the timed part: photos, captions, cached features, a first run. */
async function prepare(keep: string | undefined): Promise<{ home: string; images: number }> {
  if (keep && existsSync(join(keep, PREPARED)))
    return { home: keep, images: (JSON.parse(readFileSync(join(keep, PREPARED), 'utf8')) as { images: number }).images };
  for (const p of [CUB, CAPTIONS, SHARED_ENCODER])
    if (!existsSync(p)) throw new StepError(`prepare: ${p} is missing (the reference material beside the repository)`);
  if (keep) rmSync(keep, { recursive: true, force: true }); // a half-prepared one from a killed call
  const home = keep ?? mkdtempSync(join(tmpdir(), 'plumage-bench-retrain-'));
  mkdirSync(home, { recursive: true });
  const api = createApi({ home, log: () => {} });
  let prepared = false;
  try {
    const { jobId } = await step('import', () => invoke<{ jobId: string }>(api, 'import:start', { kind: 'cub', path: CUB, captions: CAPTIONS }));
    const imported = await step('import', () => finished(api, jobId));
    const collectionId = (imported.result as { collection: number }).collection;
    const ex = await step('extract', () => runExtract({ home, encoderPath: SHARED_ENCODER, collectionId }));
    if (ex.errors.length) throw new StepError(`extract: ${ex.errors.length} photos failed (${ex.errors[0].reason})`);
    const first = await step('first training', () =>
      withOpContext(home, (ctx) => train(ctx, { variant: 'cam', collectionId, encoderPath: SHARED_ENCODER }, quietIo())),
    );
    if (first.status !== 'done') throw new StepError(`first training: ${first.status} ${first.error ?? ''}`);
    prepared = true;
    const images = ex.extracted + ex.cached;
    writeFileSync(join(home, PREPARED), JSON.stringify({ images }));
    return { home, images };
  } finally {
    api.close(); // the timed parts open their own copies
    if (!prepared) rmSync(home, { recursive: true, force: true });
  }
}

/** When the Retrain job reached each of its phases (ms since it was started). */
class PhaseClock {
  readonly t0 = Date.now();
  trainStart: number | null = null;
  lastEpoch: number | null = null;
  scoring: number | null = null;
  extracting = false;
  /** Time from each epoch's last step to its record: validation and the best checkpoint. */
  validation = 0;
  private epochs = -1;
  private step = -1;
  private lastStep = 0;

  see(d: JobDetail | undefined): void {
    if (!d) return;
    const now = Date.now() - this.t0;
    if (d.phase === 'extract') this.extracting = true;
    if (d.phase === 'train' && d.run && this.trainStart === null) this.trainStart = now;
    if (d.phase === 'train' && d.step !== undefined && d.step > this.step) [this.step, this.lastStep] = [d.step, now];
    const n = d.history?.length ?? 0;
    if (d.phase === 'train' && n > this.epochs) {
      if (this.epochs >= 0) this.validation += now - this.lastStep;
      [this.epochs, this.lastEpoch] = [n, now];
    }
    if (d.phase === 'predict' && this.scoring === null) this.scoring = now;
  }
}

const seconds = (ms: number | null) => (ms === null ? null : Number((ms / 1000).toFixed(1)));
const round4 = (x: number | null | undefined) => (typeof x === 'number' ? Number(x.toFixed(4)) : null);

/** 20 captions edited through the api, as the caption editor sends them; returns the ms taken. */
async function editCaptions(home: string): Promise<number> {
  const api = createApi({ home, log: () => {} });
  try {
    // What the caption editor holds before the person types: each photo's detail.
    const page = await step('list photos', () => invoke<ImagePage>(api, 'images:query', { limit: EDITS }));
    const details = await step('read photos', () => Promise.all(page.items.map((i) => invoke<ImageDetail>(api, 'images:get', { id: i.id }))));
    const edits = details.filter((d) => d.captions.length).map((d) => ({ imageId: d.id, captionId: d.captions[0].id, text: d.captions[0].text }));
    if (edits.length < EDITS) throw new StepError(`edit captions: only ${edits.length} photos with captions`);
    const t0 = Date.now();
    for (const e of edits)
      await step('edit captions', () => invoke(api, 'captions:save', { ...e, text: `${e.text.trim()} it has a short pointed beak` }));
    return Date.now() - t0;
  } finally {
    api.close();
  }
}

/** What one timed Retrain asks for: the Retrain button's plan, or a sweep's rounds and seed. */
interface Ask {
  epochs?: number;
  seed?: number;
  lr?: number;
}

/**
 * Retrain exactly as `train:start` does it (planRetrain, then the train operation that trains,
 * tests and scores the collection), with the sweep's seed on top when given.
 */
async function retrain(home: string, ask: Ask, clock: PhaseClock): Promise<TrainOutcome> {
  return withOpContext(home, (ctx) => {
    const plan = planRetrain(ctx.db, { epochs: ask.epochs, lr: ask.lr });
    const config = ask.seed === undefined ? plan.config : { ...plan.config, seed: ask.seed };
    const io = { ...quietIo(), emit: (e: OpEvent) => e.type === 'progress' && clock.see(e.detail) };
    return train(ctx, config as Parameters<typeof train>[1] & { variant: typeof plan.variant }, io);
  });
}

/** Edits 20 captions and retrains, timed, on a copy of the prepared workspace; then evaluates, untimed. */
async function timedRetrain(prepared: string, backend: string, images: number, ask: Ask) {
  const home = mkdtempSync(join(tmpdir(), `plumage-bench-retrain-${backend}-`));
  cpSync(prepared, home, { recursive: true });
  process.env.PLUMAGE_BACKEND = backend; // the training worker reads it
  try {
    const cpu0 = process.cpuUsage(); // the training and scoring workers are threads of this process
    const editMs = await editCaptions(home);
    const clock = new PhaseClock();
    const result = await step('retrain', () => retrain(home, ask, clock));
    const endMs = Date.now() - clock.t0;
    const cpu = process.cpuUsage(cpu0);
    if (result.status !== 'done') throw new StepError(`retrain: ${result.status} ${result.error ?? ''}`);
    if (typeof result.test?.top1 !== 'number') throw new StepError(`retrain: run ${result.run} has no test top-1 (not evaluated)`);
    if (result.scored === undefined) throw new StepError(`retrain: run ${result.run} did not score the collection`);
    const ev = await step('evaluate the new run', () => evaluateRun({ home, runId: result.run }));
    const parent = await withOpContext(home, (ctx) => ctx.db.prepare('SELECT parent_run AS p FROM runs WHERE id = ?').get(result.run) as { p: string | null });
    const total = editMs + endMs;
    const goal = GOAL_S[backend] ?? GOAL_S.wasm;
    return {
      bench: 'retrain',
      backend,
      backend_version: result.backend_version ?? null,
      images,
      edits: EDITS,
      asked_epochs: ask.epochs ?? null,
      seed: ask.seed ?? null,
      lr: ask.lr ?? null,
      ms: total,
      seconds: seconds(total),
      cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
      edit_s: seconds(editMs),
      startup_s: seconds(clock.trainStart),
      train_s: seconds(clock.trainStart !== null && clock.lastEpoch !== null ? clock.lastEpoch - clock.trainStart : null),
      val_s: seconds(clock.validation),
      test_s: seconds(clock.lastEpoch !== null && clock.scoring !== null ? clock.scoring - clock.lastEpoch : null),
      score_s: seconds(clock.scoring !== null ? endMs - clock.scoring : null),
      extracted_features: clock.extracting,
      epochs: result.epochs_run,
      best_epoch: result.best_epoch,
      top1: round4(result.test.top1),
      cider: round4(ev.cider),
      product_cider: round4(ev.product?.cider),
      cam_agreement: round4(ev.cam_agreement),
      parent: parent?.p ?? null,
      goal_s: goal,
      ratio: Number((total / 1000 / goal).toFixed(2)),
      ratio_of: `wall time / goal (${goal} s on ${backend}); <= 1 meets it`,
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function backendsToRun(): string[] {
  const forced = process.env.PLUMAGE_BACKEND?.trim().toLowerCase();
  if (forced) return [forced];
  return nativeMissing('node') ? ['wasm'] : ['node', 'wasm'];
}

/** A comma list of positive integers, or [undefined] (the plan's own) when not given. */
function numbers(flag: string, text: string | undefined): (number | undefined)[] {
  if (text === undefined) return [undefined];
  const list = text.split(',').map((x) => Number(x.trim()));
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1))
    throw new StepError(`options: --${flag} takes a comma list of whole numbers, got "${text}"`);
  return list;
}

function options() {
  const { values } = parseArgs({ options: { home: { type: 'string' }, epochs: { type: 'string' }, seeds: { type: 'string' }, lr: { type: 'string' } }, strict: true });
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0)) throw new StepError(`options: --lr takes a positive number, got "${values.lr}"`);
  return { keep: values.home ? resolve(values.home) : undefined, epochs: numbers('epochs', values.epochs), seeds: numbers('seeds', values.seeds), lr };
}

async function main(): Promise<void> {
  const opts = options();
  const backends = backendsToRun();
  // The first run trains on the fastest backend there is; it is the same for every timed backend.
  process.env.PLUMAGE_BACKEND = backends[0];
  const prepared = await prepare(opts.keep);
  try {
    // seeds outermost, backends innermost: each comparison sees the same stretch of machine load
    for (const seed of opts.seeds)
      for (const epochs of opts.epochs)
        for (const b of backends)
          process.stdout.write(JSON.stringify(await timedRetrain(prepared.home, b, prepared.images, { epochs, seed, lr: opts.lr })) + '\n');
  } finally {
    if (!opts.keep) rmSync(prepared.home, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  const msg = e instanceof StepError ? e.message : `unexpected: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`;
  process.stderr.write(`bench retrain failed: ${msg}\n`);
  process.exit(1);
}
