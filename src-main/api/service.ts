import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope, InvokeChannel, PushChannels, Req, Res, SendChannels } from '../../shared/ipc.ts';
import type { JobInfo } from '../../shared/types.ts';
import { InvalidEditError, NotFoundError, redo, saveCaption, setLabels, setReview, undo } from '../data/edits.ts';
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
import { JobRegistry } from '../jobs/registry.ts';
import { ApiFailure, toWireError } from './errors.ts';
import { resolveImageRoute, type ImageRouteResult } from './image-routes.ts';
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
  const listeners = new Map<keyof PushChannels, Set<(msg: unknown) => void>>();
  const version = packageVersion();
  let closed = false;
  let lastBackend: string | null = null;

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
      const warnings: string[] = [];
      // The TF.js backend is resolved inside the training/extraction workers, not in this process
      // (loading TF.js here would stall every request): report the last one a job used, else the policy.
      const backend = lastBackend ?? (process.env.PLUMAGE_BACKEND ? `${process.env.PLUMAGE_BACKEND} (forced)` : 'auto: gpu → node → wasm → cpu');
      return { version, backend, home: ws.home, warnings };
    },
    'collections:list': () => listCollections(db),
    'classes:list': (req) => listClasses(db, req?.collectionId),
    'images:query': (req) => queryImages(db, req),
    'images:get': (req) => {
      const d = getImageDetail(db, req.id);
      if (!d) throw new ApiFailure('not_found', `no image ${req.id}`);
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
      const job = jobs.startJob('import', `import ${req.kind} ${req.path}`, async (progress, signal) => {
        const result = await runImport(db, ws, { kind: req.kind, path: req.path, captions: req.captions, progress, signal });
        push('images:changed', { imageIds: [] }); // "many images changed": the gallery reloads its page
        return result;
      });
      return { jobId: job.id };
    },
    'jobs:list': () => jobs.list(),
    'jobs:cancel': (req) => ({ cancelled: jobs.cancel(req.jobId) }),
    'runs:list': () => listRuns(db),
    'train:start': async (req) => {
      const { startTrainingWorker } = await import('../jobs/train.ts');
      const variant = req.variant ?? 'cam';
      // Warm start from the latest finished run of the same variant, when asked and one exists.
      const parent = req.warmStart
        ? (db
            .prepare("SELECT id FROM runs WHERE variant = ? AND status = 'done' ORDER BY created_at DESC LIMIT 1")
            .get(variant) as { id: string } | undefined)
        : undefined;
      if (req.warmStart && !parent) throw new ApiFailure('not_found', `no finished ${variant} run to warm-start from`);
      const job = jobs.startJob('train', `train ${variant}`, async (progress, signal) => {
        let done = 0;
        let total = 0;
        // Training runs in a worker thread so the window (and browser mode) stay responsive.
        const handle = await startTrainingWorker(
          { home: ws.home, config: { variant, ...(req.epochs ? { epochs: req.epochs } : {}), ...(parent ? { warmStart: parent.id } : {}) } },
          (e) => {
            if (e.type === 'step' && e.totalSteps) {
              done = e.globalStep ?? done;
              total = e.totalSteps;
              progress(done, total, e.run ? `run ${e.run}` : null);
            } else if (e.type === 'log' && e.message) progress(done, total, e.message);
          },
        );
        signal.addEventListener('abort', () => handle.cancel(), { once: true });
        const result = await handle.result;
        lastBackend = result.backend;
        if (result.status === 'failed') throw new Error(result.error ?? 'training failed');
        return result;
      });
      return { jobId: job.id };
    },
    'caption:start': async (req) => {
      // Loaded on demand: it pulls in TF.js, which the rest of the api never needs.
      const { runCaption } = await import('../jobs/caption.ts');
      const run =
        req.runId ??
        (db.prepare("SELECT id FROM runs WHERE status = 'done' ORDER BY created_at DESC LIMIT 1").get() as { id: string } | undefined)
          ?.id;
      if (!run) throw new ApiFailure('not_found', 'no finished run to caption with: train one first');
      const job = jobs.startJob('caption', `caption ${req.folder}`, (progress, signal) =>
        runCaption({ home: ws.home, folder: req.folder, run, signal, onProgress: (d, t) => progress(d, t) }),
      );
      return { jobId: job.id };
    },
  };

  async function invoke(channel: unknown, req: unknown): Promise<Envelope<unknown>> {
    try {
      if (closed) throw new ApiFailure('unavailable', 'the api is closed');
      if (!isInvokeChannel(channel)) {
        throw new ApiFailure('invalid_request', `unknown channel ${JSON.stringify(String(channel).slice(0, 60))}`);
      }
      const parsed = INVOKE_SCHEMAS[channel].safeParse(req);
      if (!parsed.success) throw new ApiFailure('invalid_request', `${channel}: ${describeIssues(parsed.error)}`);
      const handler = handlers[channel] as (r: unknown) => unknown;
      return { result: await handler(parsed.data) };
    } catch (e) {
      if (e instanceof NotFoundError) return { error: { message: e.message, code: 'not_found' } };
      if (e instanceof InvalidEditError) return { error: { message: e.message, code: 'invalid_request' } };
      if (!(e instanceof ApiFailure)) log(`plumage api: ${String(channel)} failed: ${(e as Error)?.stack ?? e}`);
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
      listeners.clear();
      db.close();
    },
  };
}
