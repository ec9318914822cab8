import { resolve } from 'node:path';
import type { JobDetail } from '../../../shared/types.ts';
import { openDb, type Db } from '../../data/store.ts';
import { workspace, type Workspace } from '../../data/workspace.ts';
import type { TrainEvent } from '../../jobs/train/loop.ts';

/**
 * What every operation (api/ops/*) works on, whichever shell called it: the workspace, its
 * database and two hooks the api uses to tell the window about changes. The CLI opens one with
 * `openOpContext` per command; the api keeps one for its lifetime.
 */
export interface OpContext {
  ws: Workspace;
  db: Db;
  /** Runs a live training job of this process is writing (never offered for resume). */
  activeRuns: Set<string>;
  /** Photos whose data changed; [] means "many" (the gallery reloads its page). */
  imagesChanged(imageIds: number[]): void;
  /** The TF.js backend a job ran on (app:info reports the last one). */
  backendUsed(name: string): void;
}

/** What a long operation reports while it runs. */
export type OpEvent =
  | { type: 'progress'; done: number; total: number; message?: string | null; detail?: JobDetail; unit?: string }
  | { type: 'warning'; message: string }
  /** A step of a many-step operation begins (the demo: synth, import, extract, train cnn, …). */
  | { type: 'stage'; message: string }
  /** The trainer's own events, for shells that print losses as they come (the CLI). */
  | { type: 'train'; event: TrainEvent };

/** A long operation's channel to its caller: events out, cancellation in. */
export interface JobIo {
  signal: AbortSignal;
  emit(e: OpEvent): void;
}

export function openOpContext(home: string): OpContext & { close(): void } {
  const ws = workspace(resolve(home));
  const db = openDb(ws.dbPath);
  return {
    ws,
    db,
    activeRuns: new Set(),
    imagesChanged: () => {},
    backendUsed: () => {},
    close: () => db.close(),
  };
}

/** Runs `fn` on a context opened for `home` and closes it afterwards (one CLI command). */
export async function withOpContext<T>(home: string, fn: (ctx: OpContext) => Promise<T> | T): Promise<T> {
  const ctx = openOpContext(home);
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}

/** A JobIo that only watches a signal (tests, callers that want no progress). */
export function quietIo(signal: AbortSignal = new AbortController().signal): JobIo {
  return { signal, emit: () => {} };
}

/**
 * Calls `cancel` when the signal aborts (at once if it has already) while `work` runs. The
 * listener goes when the work settles, so one signal can serve many operations in a row (the demo
 * trains, scores and evaluates a dozen times on one).
 */
export async function cancelOnAbort<T>(signal: AbortSignal, cancel: () => void, work: Promise<T>): Promise<T> {
  if (signal.aborted) cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    return await work;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
