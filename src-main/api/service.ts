import { expectedBackend } from '../ml/backend-probe.ts';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope, InvokeChannel, PushChannels, Req, Res, SendChannels } from '../../shared/ipc.ts';
import type { JobDetail, JobInfo, Variant } from '../../shared/types.ts';
import { redo, saveCaption, setLabels, setReview, undo } from '../data/edits.ts';
import {
  getImageDetail,
  listClasses,
  listCollections,
  listRuns,
  queryImages,
} from '../data/queries.ts';
import { openDb, type Db } from '../data/store.ts';
import { workspace, type Workspace } from '../data/workspace.ts';
import { runImport } from '../data/importers/index.ts';
import { clearMask, getMask, saveMask } from '../data/masks.ts';
import { getPrediction, nextDisputed } from '../data/predictions.ts';
import { JobRegistry, type Progress } from '../jobs/registry.ts';
import { latestRun } from '../data/runs.ts';
import { encoderWarnings } from '../ml/encoders/registry.ts';
import { runInWorker } from '../jobs/worker-host.ts';
import type { InsightTask } from '../jobs/worker-insights.ts';
import {
  batchResults,
  compareRuns,
  confusionCell,
  exportBatch,
  importAccepted,
  listBatchJobs,
  planRetrain,
  resumableRuns,
  reviewBatchResult,
  runDetail,
} from './insights.ts';
import { toWireError } from './errors.ts';
import { errorCode, PlumageError } from '../util/errors.ts';
import { importDemoBirds } from './demo-data.ts';
import { resolveImageRoute, type ImageRouteResult } from './image-routes.ts';
import { PathAccess, type PathAccessOptions } from './path-access.ts';
import { describeIssues, INVOKE_SCHEMAS, isInvokeChannel, isSendChannel, SEND_SCHEMAS } from './schemas.ts';

/**
 * The api: one service object behind every shell (Electron ipc-bridge, `plumage serve`, tests).
 * `invoke` takes untrusted input (channel name and request of unknown shape), validates it with
 * the channel's zod schema and always resolves to an Envelope — it never throws and never lets a
 * stack trace out.
 */

type Listener<C extends keyof PushChannels> = (msg: PushChannels[C]) => void;

export interface PlumageApi {
  readonly home: string;
  readonly ws: Workspace;
  readonly db: Db;
  readonly jobs: JobRegistry;
  invoke(channel: unknown, req: unknown): Promise<Envelope<unknown>>;
  send(channel: unknown, msg: unknown): void;
  on<C extends keyof PushChannels>(channel: C, listener: Listener<C>): () => void;
  /** Resolves an image route (`image/<id>`, `thumb/<id>`, `file/<cid>/<rel>`) to a file inside a collection root. */
  resolveImage(route: string): Promise<ImageRouteResult>;
  close(): void;
}

export interface ApiOptions {
  home: string;
  /** Where renderer log lines go (default: stderr). */
  log?: (line: string) => void;
  /** Which paths the page may name (see path-access.ts); default: typed reads, writes into exports/. */
  paths?: PathAccessOptions;
  /** The desktop app's native file dialog (main process); absent in browser mode. */
  choose?: (req: Req<'dialog:choose'>) => Promise<string | null>;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The TF.js job worker: the .ts source in development, the bundled .js beside main.js in a build. */
const INSIGHTS_WORKER = import.meta.url.endsWith('.ts')
  ? new URL('../jobs/worker-insights.ts', import.meta.url)
  : new URL('./worker-insights.js', import.meta.url);

function packageVersion(): string {
  // src-main/api → repo root in development; in a bundle (dist/electron) two levels up as well.
  for (const p of [resolve(here, '../../package.json'), resolve(here, '../package.json')]) {
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'plumage' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

export function createApi(opts: ApiOptions): PlumageApi {
  const ws = workspace(resolve(opts.home));
  const db = openDb(ws.dbPath);
  const jobs = new JobRegistry();
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const listeners = new Map<keyof PushChannels, Set<(msg: unknown) => void>>();
  const version = packageVersion();
  const access = new PathAccess(ws.home, opts.paths);
  let closed = false;
  let lastBackend: string | null = null;
  /** Runs a live training job of this api is writing (not offered for resume). */
  const activeRuns = new Set<string>();
  /** Loaded on the first heat-map request: it pulls in TF.js, which the rest of the api never needs. */
  let camModule: typeof import('../jobs/predict.ts') | null = null;

  function push<C extends keyof PushChannels>(channel: C, msg: PushChannels[C]) {
    for (const l of listeners.get(channel) ?? []) {
      try {
        l(msg);
      } catch {
        // one broken subscriber (a closed socket) must not affect the others
      }
    }
  }
  const unsubscribeJobs = jobs.onChange((job: JobInfo) => push('job:progress', job));
  const changed = (imageIds: number[]) => {
    if (imageIds.length) push('images:changed', { imageIds });
  };

  type Handlers = { [C in InvokeChannel]: (req: Req<C>) => Promise<Res<C>> | Res<C> };
  const handlers: Handlers = {
    'app:info': async () => {
      const warnings: string[] = encoderWarnings(ws.encoders, ws.features, latestRun(db)?.encoder);
      // The TF.js backend is resolved inside the training/extraction workers, not in this process
      // (loading TF.js here would stall every request): report the last one a job used, else the policy.
      const backend = lastBackend ?? expectedBackend();
      return { version, backend, home: ws.home, warnings };
    },
    'collections:list': () => listCollections(db),
    'classes:list': (req) => listClasses(db, req?.collectionId),
    'images:query': (req) => queryImages(db, req),
    'images:get': (req) => {
      const d = getImageDetail(db, req.id);
      if (!d) throw new PlumageError('not_found', `no image ${req.id}`);
      return d;
    },
    'labels:set': (req) => {
      const n = setLabels(db, req.imageIds, req.classId);
      changed(n ? [...new Set(req.imageIds)] : []);
      return { changed: n };
    },
    'review:set': (req) => {
      const n = setReview(db, req.imageIds, req.status);
      changed(n ? [...new Set(req.imageIds)] : []);
      return { changed: n };
    },
    'captions:save': (req) => {
      saveCaption(db, req.imageId, req.captionId, req.text);
      changed([req.imageId]);
      return getImageDetail(db, req.imageId)!;
    },
    'edits:undo': () => {
      const r = undo(db);
      changed(r.imageIds);
      return r;
    },
    'edits:redo': () => {
      const r = redo(db);
      changed(r.imageIds);
      return r;
    },
    'import:start': (req) => {
      const path = access.readable(req.path);
      const captions = req.captions ? access.readable(req.captions) : undefined;
      const job = jobs.startJob('import', `import ${req.kind} ${path}`, async (progress, signal) => {
        const result = await runImport(db, ws, { kind: req.kind, path, captions, progress, signal });
        push('images:changed', { imageIds: [] }); // "many images changed": the gallery reloads its page
        return result;
      });
      return { jobId: job.id };
    },
    'demo:start': () => {
      const job = jobs.startJob('import', 'import demo birds', async (progress, signal) => {
        const result = await importDemoBirds(db, ws, progress, signal);
        push('images:changed', { imageIds: [] });
        return result;
      });
      return { jobId: job.id };
    },
    'jobs:list': () => jobs.list(),
    'jobs:cancel': (req) => ({ cancelled: jobs.cancel(req.jobId) }),
    'runs:list': () => listRuns(db),
    'train:start': (req) => {
      const plan = planRetrain(db, req);
      const from = plan.parent ? ` from ${plan.parent.id}` : '';
      return { jobId: startTrainJob(`train ${plan.variant}${from}`, { config: plan.config }) };
    },
    'train:resumable': () => resumableRuns(db, ws, activeRuns),
    'train:resume': (req) => {
      if (!resumableRuns(db, ws, activeRuns).some((r) => r.id === req.runId))
        throw new PlumageError('not_found', `run ${req.runId} has no resumable checkpoint (or is training now)`);
      const run = db.prepare('SELECT variant FROM runs WHERE id = ?').get(req.runId) as { variant: Variant };
      return {
        jobId: startTrainJob(`resume ${req.runId}`, {
          config: { variant: run.variant, ...(req.epochs ? { epochs: req.epochs } : {}) },
          resume: req.runId,
        }),
      };
    },
    'caption:start': (req) => {
      const folder = access.readable(req.folder);
      const run = req.runId ?? latestRun(db)?.id;
      if (!run) throw new PlumageError('not_found', 'no finished run to caption with: train one first');
      // In a worker: decoding, the CNN and beam search would otherwise hold the api's event loop.
      const job = jobs.startJob('caption', `caption ${folder}`, (progress, signal) =>
        inWorker({ task: 'caption', home: ws.home, folder, run }, progress, signal, 'caption'),
      );
      return { jobId: job.id };
    },
    'predict:start': (req) => {
      const run = req.runId ?? latestRun(db)?.id;
      if (!run) throw new PlumageError('not_found', 'no finished run to score with: train one first');
      assertRun(run);
      const job = jobs.startJob('predict', `score photos with ${run}`, (progress, signal) =>
        inWorker({ task: 'predict', home: ws.home, runId: run }, progress, signal, 'predict'),
      );
      return { jobId: job.id };
    },
    'images:nextDisputed': (req) => ({ imageId: nextDisputed(db, req) }),
    'cams:get': async (req) => {
      const run = camRunFor(req.imageId, req.runId);
      const { imageCams } = (camModule = await import('../jobs/predict.ts'));
      return mlCall(() => imageCams(db, ws, run, req.imageId));
    },
    'cams:word': async (req) => {
      const run = camRunFor(req.imageId, req.runId);
      const { imageWordCam } = (camModule = await import('../jobs/predict.ts'));
      return mlCall(() => imageWordCam(db, ws, run, req.imageId, req.wordIndex));
    },
    'masks:get': (req) => getMask(db, req.imageId),
    'masks:save': async (req) => {
      const m = await saveMask(db, req.imageId, req.width, req.height, Buffer.from(req.png, 'base64'));
      changed([req.imageId]);
      return m;
    },
    'masks:clear': (req) => {
      const cleared = clearMask(db, req.imageId);
      if (cleared) changed([req.imageId]);
      return { cleared };
    },
    'runs:get': (req) => runDetail(db, req.id),
    'runs:compare': (req) => compareRuns(db, req.ids),
    'runs:confusionCell': (req) => confusionCell(db, req.runId, req.trueClass, req.predClass),
    'eval:start': (req) => {
      assertRun(req.runId);
      const job = jobs.startJob('evaluate', `evaluate ${req.runId}`, async (progress, signal) => {
        const metrics = await inWorker({ task: 'evaluate', home: ws.home, runId: req.runId }, progress, signal, 'evaluate');
        // The confusion cells open photos through the run's predictions: score the collection too.
        const scored = await inWorker({ task: 'predict', home: ws.home, runId: req.runId }, progress, signal, 'predict');
        return { metrics, scored };
      });
      return { jobId: job.id };
    },
    'batch:list': () => listBatchJobs(db),
    'batch:results': (req) => batchResults(db, req.jobId),
    'batch:review': (req) => reviewBatchResult(db, req.jobId, req.relPath, req.review, req.caption),
    'batch:importAccepted': async (req) => {
      const r = await importAccepted(db, req.jobId, req.collectionId);
      if (r.imported || r.captions) push('images:changed', { imageIds: [] });
      return r;
    },
    'batch:export': (req) => exportBatch(db, req.jobId, req.format, access.writable(req.path)),
    'dialog:choose': async (req) => {
      if (!opts.choose) throw new PlumageError('unavailable', 'file dialogs exist in the desktop app only: type the path');
      const path = await opts.choose(req);
      return path === null ? null : { token: access.grant(path, req.purpose === 'save' ? 'write' : 'read'), path };
    },
  };

  function assertRun(id: string) {
    if (!db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id)) throw new PlumageError('not_found', `no run '${id}'`);
  }

  /** The run whose CAMs the heat-map view shows: asked for, else the one behind the image's predictions, else the latest finished run with both heads. */
  function camRunFor(imageId: number, runId?: string): string {
    if (!db.prepare('SELECT 1 FROM images WHERE id = ?').get(imageId)) throw new PlumageError('not_found', `no image ${imageId}`);
    if (runId) {
      assertRun(runId);
      return runId;
    }
    const p = getPrediction(db, imageId);
    if (p) return p.runId;
    const row = db
      .prepare(
        `SELECT r.id FROM runs r JOIN images i ON i.id = ? WHERE r.status = 'done' AND r.checkpoint IS NOT NULL
           AND (r.collection_id IS NULL OR r.collection_id = i.collection_id)
         ORDER BY (r.variant IN ('cam', 'medi')) DESC, r.created_at DESC, r.id DESC LIMIT 1`,
      )
      .get(imageId) as { id: string } | undefined;
    if (!row) throw new PlumageError('not_found', 'no finished run to explain this photo with: train one first');
    return row.id;
  }

  /** Model errors of a single-image call become structured api errors. */
  async function mlCall<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof PlumageError) throw e;
      const msg = (e as Error)?.message?.split('\n')[0] ?? String(e);
      throw new PlumageError(e instanceof RangeError ? 'invalid_request' : 'unavailable', msg);
    }
  }

  function inWorker<R>(task: InsightTask, progress: Progress, signal: AbortSignal, phase: JobDetail['phase']): Promise<R> {
    const h = runInWorker<R, { done: number; total: number }>(INSIGHTS_WORKER, task, (e) =>
      progress(e.done, e.total, null, { phase }),
    );
    signal.addEventListener('abort', () => h.cancel(), { once: true });
    return h.result;
  }

  /**
   * A training job (new run or resume) in the training worker, with live detail (step, epoch k of
   * N, losses, pairs/s, ETA, per-epoch validation), then scoring the collection with the new run
   * so the review queue and suggestions follow the latest model.
   */
  function startTrainJob(label: string, opts: { config: Record<string, unknown> & { variant: Variant }; resume?: string }): string {
    const job = jobs.startJob('train', label, async (progress, signal) => {
      const { startTrainingWorker } = await import('../jobs/train/loop.ts');
      const detail: JobDetail = { phase: 'train', history: [] };
      let run: string | undefined = opts.resume;
      if (run) activeRuns.add(run);
      let done = 0;
      let total = 0;
      try {
        const handle = await startTrainingWorker({ home: ws.home, config: opts.config as never, ...(opts.resume ? { resume: opts.resume } : {}) }, (e) => {
          detail.phase = e.phase;
          if (e.type === 'log') return progress(done, total, e.message, { ...detail });
          if (e.type === 'progress') return progress(e.done, e.total, 'extracting features', { ...detail });
          if (!run) activeRuns.add((run = e.run));
          detail.run = e.run;
          detail.epochs = e.epochs;
          if (e.type === 'start') return progress(done, total, undefined, { ...detail });
          detail.epoch = e.epoch;
          if (e.type === 'step') {
            done = detail.step = e.globalStep;
            total = detail.totalSteps = e.totalSteps;
            Object.assign(detail, { losses: e.losses, pairsPerSec: e.pairsPerSec, etaSec: e.etaSec });
            progress(done, total, `run ${run}`, { ...detail });
          } else {
            const { top1, top5, captionLoss, score } = e.val;
            // 0-based like the trainer's
            detail.history = [...(detail.history ?? []), { epoch: e.epoch, losses: { ...e.losses }, val: { top1, top5, captionLoss, score } }];
            // detail.epoch counts from 0 (as the trainer does); people count from 1.
            progress(done, total, `epoch ${e.epoch + 1} of ${e.epochs}`, { ...detail });
          }
        });
        signal.addEventListener('abort', () => handle.cancel(), { once: true });
        const result = await handle.result;
        lastBackend = result.backend;
        if (result.status === 'failed') throw new Error(result.error ?? 'training failed');
        if (result.status !== 'done' || signal.aborted) return result;
        activeRuns.delete(result.run);
        // Score the collection with the new run (the review queue, suggestions, disagreement).
        try {
          const scored = await inWorker<{ images: number }>({ task: 'predict', home: ws.home, runId: result.run }, (d, t) =>
            progress(d, t, 'scoring the collection with the new run', { ...detail, phase: 'predict' }), signal, 'predict');
          push('images:changed', { imageIds: [] });
          return { ...result, scored: scored.images };
        } catch (e) {
          return { ...result, warnings: [...result.warnings, `scoring the collection failed: ${(e as Error).message}`] };
        }
      } finally {
        if (run) activeRuns.delete(run);
      }
    });
    return job.id;
  }

  async function invoke(channel: unknown, req: unknown): Promise<Envelope<unknown>> {
    try {
      if (closed) throw new PlumageError('unavailable', 'the api is closed');
      if (!isInvokeChannel(channel)) {
        throw new PlumageError('invalid_request', `unknown channel ${JSON.stringify(String(channel).slice(0, 60))}`);
      }
      const parsed = INVOKE_SCHEMAS[channel].safeParse(req);
      if (!parsed.success) throw new PlumageError('invalid_request', `${channel}: ${describeIssues(parsed.error)}`);
      const handler = handlers[channel] as (r: unknown) => unknown;
      return { result: await handler(parsed.data) };
    } catch (e) {
      if (errorCode(e) === 'internal') log(`plumage api: ${String(channel)} failed: ${(e as Error)?.stack ?? e}`);
      return { error: toWireError(e) };
    }
  }

  function send(channel: unknown, msg: unknown) {
    if (!isSendChannel(channel)) return;
    const parsed = SEND_SCHEMAS[channel].safeParse(msg);
    if (!parsed.success) return;
    const m = parsed.data as SendChannels['log:renderer'];
    // eslint-disable-next-line no-control-regex
    log(`renderer ${m.level}: ${m.message.replace(/[\u0000-\u001f]/g, ' ')}`);
  }

  return {
    home: ws.home,
    ws,
    db,
    jobs,
    invoke,
    send,
    on(channel, listener) {
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      set.add(listener as (msg: unknown) => void);
      return () => set!.delete(listener as (msg: unknown) => void);
    },
    resolveImage: (route) => resolveImageRoute(db, ws, route),
    close() {
      if (closed) return;
      closed = true;
      jobs.cancelAll();
      unsubscribeJobs();
      // Free the heat-map view's cached model, if one was loaded.
      camModule?.releaseCamModel();
      listeners.clear();
      db.close();
    },
  };
}
