import { expectedBackend } from '../ml/backend-probe.ts';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope, InvokeChannel, PushChannels, Req, Res, SendChannels } from '../../shared/ipc.ts';
import type { JobInfo, JobKind, JobResults } from '../../shared/types.ts';
import { NO_MODEL_FOR_PHOTO } from '../../shared/errors.ts';
import { redo, saveCaption, setLabels, setReview, undo } from '../data/edits.ts';
import { createSpecies, mergeSpecies, renameSpecies } from '../data/species.ts';
import {
  getImageDetail,
  listClasses,
  listCollections,
  listRuns,
  queryImageIds,
  queryImages,
} from '../data/queries.ts';
import { openDb, type Db } from '../data/store.ts';
import { workspace, type Workspace } from '../data/workspace.ts';
import { clearMask, getMask, saveMask } from '../data/masks.ts';
import { getPrediction, nextDisputed } from '../data/predictions.ts';
import { JobRegistry } from '../jobs/registry.ts';
import { latestRun } from '../data/runs.ts';
import { encoderWarnings } from '../ml/encoders/registry.ts';
import { markInterruptedRuns } from '../jobs/run-owner.ts';
import {
  batchResults,
  compareRuns,
  confusionCell,
  exportBatch,
  importAccepted,
  listBatchJobs,
  planRetrain,
  requireTrainable,
  resumableRuns,
  reviewBatchResult,
  runDetail,
} from './insights.ts';
import { toWireError } from './errors.ts';
import { LIMITS } from './ops/schemas.ts';
import { captionFolder } from './ops/caption.ts';
import type { JobIo, OpContext } from './ops/context.ts';
import { evaluateAndScore, headline } from './ops/evaluate.ts';
import { importCollection } from './ops/import.ts';
import { requireRun, runOrLatest } from './ops/runs.ts';
import { scoreCollection } from './ops/score.ts';
import { train } from './ops/train.ts';
import { errorCode, PlumageError } from '../util/errors.ts';
import { importDemoBirds } from './demo-data.ts';
import { resolveImageRoute, type ImageRouteResult } from './image-routes.ts';
import { PathAccess, type PathAccessOptions } from './path-access.ts';
import { checkPath } from './path-check.ts';
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
  /**
   * Desktop app: a one-time read grant for a folder or file dropped onto the window (its place on
   * disk comes from the preload, never from the page); null when nothing is there.
   */
  grantDropped(path: unknown): { token: string; path: string } | null;
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
  // Runs whose training process died since the last start become 'interrupted' (offered for resume).
  for (const id of markInterruptedRuns(db, ws)) log(`plumage api: run ${id} was interrupted (its process stopped); it can be resumed`);
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
  // Photos the image routes found changed on disk (or back as imported): one push for a burst of
  // thumbnail requests, so the gallery re-reads its page once and shows their badges.
  const fileStatusChanged = new Set<number>();
  let fileStatusTimer: NodeJS.Timeout | null = null;
  const fileStatusFound = (imageId: number) => {
    fileStatusChanged.add(imageId);
    fileStatusTimer ??= setTimeout(() => {
      fileStatusTimer = null;
      const ids = [...fileStatusChanged];
      fileStatusChanged.clear();
      changed(ids);
    }, 200);
  };
  const ctx: OpContext = {
    ws,
    db,
    activeRuns,
    imagesChanged: (imageIds) => push('images:changed', { imageIds }), // [] = many: the gallery reloads its page
    backendUsed: (name) => (lastBackend = name),
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
    'images:ids': (req) => ({ ids: queryImageIds(db, req) }),
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
      if (r.undone && !r.imageIds.length) ctx.imagesChanged([]); // a species edit: names changed everywhere
      return r;
    },
    'edits:redo': () => {
      const r = redo(db);
      changed(r.imageIds);
      if (r.redone && !r.imageIds.length) ctx.imagesChanged([]);
      return r;
    },
    // Species edits change names on many photos: [] makes every window re-read its page and species.
    'species:create': (req) => {
      const c = createSpecies(db, req.collectionId, req.name, req.imageIds);
      ctx.imagesChanged([]);
      return c;
    },
    'species:rename': (req) => {
      const c = renameSpecies(db, req.classId, req.name);
      ctx.imagesChanged([]);
      return c;
    },
    'species:merge': (req) => {
      const r = mergeSpecies(db, req.fromId, req.intoId);
      ctx.imagesChanged([]);
      return r;
    },
    'import:start': (req) => {
      // the window may only read where the person allowed (path-access.ts); the CLI reads any path
      const path = access.readable(req.path);
      const captions = req.captions ? access.readable(req.captions) : undefined;
      return startOpJob('import', `import ${req.kind} ${path}`, (io) => importCollection(ctx, { ...req, path, captions }, io));
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
      requireTrainable(db, plan); // refused now, in words, rather than by the worker a moment later
      const from = plan.parent ? ` from ${plan.parent.id}` : '';
      return startOpJob('train', `train ${plan.variant}${from}`, (io) => train(ctx, plan.config, io));
    },
    'train:resumable': () => resumableRuns(db, ws, activeRuns),
    'train:resume': (req) => {
      if (!resumableRuns(db, ws, activeRuns).some((r) => r.id === req.runId))
        throw new PlumageError('not_found', `run ${req.runId} has no resumable checkpoint (or is training now)`);
      return startOpJob('train', `resume ${req.runId}`, (io) => train(ctx, { resume: req }, io));
    },
    'caption:start': (req) => {
      const folder = access.readable(req.folder);
      runOrLatest(db, req.runId, 'caption'); // refuse at once, not in the job
      return startOpJob('caption', `caption ${folder}`, async (io) => {
        // the rows stay in the batch tables (batch:results); the job result is the summary
        return { ...(await captionFolder(ctx, { ...req, folder }, io)), results: undefined };
      });
    },
    'predict:start': (req) => {
      const run = runOrLatest(db, req.runId, 'score');
      return startOpJob('predict', `score photos with ${run}`, (io) => scoreCollection(ctx, { runId: run }, io));
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
      requireRun(db, req.runId);
      return startOpJob('evaluate', `evaluate ${req.runId}`, async (io) => {
        const r = await evaluateAndScore(ctx, req, io);
        return { metrics: headline(r.metrics), scored: r.scored };
      });
    },
    'batch:list': () => listBatchJobs(db),
    'batch:results': (req) => batchResults(db, req.jobId),
    'batch:review': (req) => reviewBatchResult(db, req.jobId, req.relPath, req.review, req.caption),
    'batch:importAccepted': async (req) => {
      const r = await importAccepted(db, req.jobId, req.collectionId);
      if (r.imported || r.captions) push('images:changed', { imageIds: [] });
      return r;
    },
    'batch:export': (req) => exportBatch(db, req.jobId, req.format, access.writable(req.path), req.include),
    'dialog:choose': async (req) => {
      if (!opts.choose) throw new PlumageError('unavailable', 'file dialogs exist in the desktop app only: type the path');
      const path = await opts.choose(req);
      return path === null ? null : { token: access.grant(path, req.purpose === 'save' ? 'write' : 'read'), path };
    },
    // A full path only (a grant token is never checked, so checking cannot use it up).
    'paths:check': (req) => checkPath(req.path, req.expect, (p) => access.readable(p)),
  };

  /** The run whose CAMs the heat-map view shows: asked for, else the one behind the image's predictions, else the latest finished run with both heads. */
  function camRunFor(imageId: number, runId?: string): string {
    if (!db.prepare('SELECT 1 FROM images WHERE id = ?').get(imageId)) throw new PlumageError('not_found', `no image ${imageId}`);
    if (runId) {
      requireRun(db, runId);
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
    if (!row) throw new PlumageError('not_found', NO_MODEL_FOR_PHOTO);
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

  /** Runs an operation as a job of this api: its progress events become job:progress pushes. */
  function startOpJob<K extends JobKind>(kind: K, label: string, op: (io: JobIo) => Promise<JobResults[K]>): { jobId: string } {
    const job = jobs.startJob(kind, label, (progress, signal) =>
      op({ signal, emit: (e) => e.type === 'progress' && progress(e.done, e.total, e.message, e.detail) }),
    );
    return { jobId: job.id };
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
    resolveImage: (route) => resolveImageRoute(db, ws, route, fileStatusFound),
    grantDropped: (path) => {
      if (typeof path !== 'string' || path.length > LIMITS.path || !isAbsolute(path) || path.includes('\0'))
        throw new PlumageError('invalid_request', 'a dropped item needs a full path');
      if (!existsSync(path)) return null;
      return { token: access.grant(path, 'read'), path };
    },
    close() {
      if (closed) return;
      closed = true;
      if (fileStatusTimer) clearTimeout(fileStatusTimer);
      jobs.cancelAll();
      unsubscribeJobs();
      // Free the heat-map view's cached model, if one was loaded.
      camModule?.releaseCamModel();
      listeners.clear();
      db.close();
    },
  };
}
