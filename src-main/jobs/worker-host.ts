/**
 * Runs a job module in a worker_thread so long work (training) never blocks the caller's event
 * loop (the Electron main process, the serve shell, the CLI's Ctrl-C handling). Messages:
 * worker → host {type:'event', event} | {type:'done', result} | {type:'error', message, code} (the
 * PlumageError code, so a typed error keeps its code across the thread boundary);
 * host → worker {type:'cancel'}.
 *
 * The sources are TypeScript run through tsx; a worker does not inherit the tsx loader that
 * bin/plumage.js registered, and on Node 20 `execArgv: ['--import', tsx]` is not honoured for a
 * .ts entry ("Unknown file extension"), so a .ts module is started through a tiny eval'd
 * bootstrap that registers tsx's ESM hooks in the worker and then imports the module.
 *
 * A packaged build has no .ts files: scripts/build-main.mjs bundles each worker entry as a .js file
 * beside main.js, so the module is looked up under either extension (resolveWorkerModule).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fromWire } from '../util/errors.ts';

export interface WorkerHandle<R> {
  result: Promise<R>;
  cancel(): void;
  worker: Worker;
}

/** tsx's ESM API (the `import` condition of tsx/esm/api, which require.resolve cannot pick). */
function tsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(
    require.resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs'),
  ).href;
}

/**
 * The file a worker starts from. Callers name the .ts source next to them (`new URL('./x.ts',
 * import.meta.url)`); inside the bundle that URL points beside main.js, where the built x.js lives.
 * The name asked for wins when it exists; else the same name with the other extension (.ts ↔ .js).
 */
export function resolveWorkerModule(moduleUrl: URL): URL {
  if (moduleUrl.protocol !== 'file:' || existsSync(fileURLToPath(moduleUrl))) return moduleUrl;
  const m = /\.(ts|js)$/.exec(moduleUrl.pathname);
  if (!m) return moduleUrl;
  const other = new URL(moduleUrl.href.replace(/\.(ts|js)$/, m[1] === 'ts' ? '.js' : '.ts'));
  return existsSync(fileURLToPath(other)) ? other : moduleUrl;
}

/** Starts a worker thread on a module (a .ts source through tsx, or the built .js beside main.js). */
export function startModuleWorker(requested: URL, data: unknown): Worker {
  const moduleUrl = resolveWorkerModule(requested);
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, { workerData: data });
  const boot = `import(${JSON.stringify(tsxEsmApi())}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(boot, { eval: true, workerData: data });
}

export function runInWorker<R, E = unknown>(
  requested: URL,
  data: unknown,
  onEvent: (e: E) => void = () => {},
): WorkerHandle<R> {
  const worker = startModuleWorker(requested, data);
  let settled = false;
  const result = new Promise<R>((resolve, reject) => {
    worker.on('message', (m: { type: string; event?: E; result?: R; message?: string; code?: string }) => {
      if (m.type === 'event') onEvent(m.event as E);
      else if (m.type === 'done') {
        settled = true;
        resolve(m.result as R);
      } else if (m.type === 'error') {
        settled = true;
        reject(fromWire(m));
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`worker exited with code ${code} before finishing`));
    });
  });
  // The worker has nothing left to do after its result: let it exit.
  result.finally(() => void worker.terminate()).catch(() => {});
  return { result, cancel: () => worker.postMessage({ type: 'cancel' }), worker };
}
