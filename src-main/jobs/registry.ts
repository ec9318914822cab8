import { randomUUID } from 'node:crypto';
import type { JobDetail, JobInfo, JobInfoOf, JobKind, JobResults } from '../../shared/types.ts';
import { notFound } from '../util/errors.ts';

/**
 * A small in-process job registry: long work (import, training, captioning) runs as an async
 * function that reports progress and watches an AbortSignal. The registry keeps the latest
 * JobInfo of every job and tells listeners (the api → the window) about each change.
 */

export interface Progress {
  /** Reports `done` of `total` units; the ETA comes from the measured speed. */
  (done: number, total: number, message?: string | null, detail?: JobDetail): void;
}

/** A job's work: resolves to the result its kind promises (shared/types.ts JobResults). */
export type JobFn<R = unknown> = (progress: Progress, signal: AbortSignal) => Promise<R>;
export type JobListener = (job: JobInfo) => void;

interface Entry {
  info: JobInfo;
  controller: AbortController;
  startedAt: number;
  promise: Promise<JobInfo>;
}

export class JobRegistry {
  private readonly jobs = new Map<string, Entry>();
  private readonly listeners = new Set<JobListener>();
  /** Progress pushes are throttled so a tight loop does not flood the window. */
  private readonly minIntervalMs: number;
  private lastEmit = new Map<string, number>();

  constructor(opts: { minIntervalMs?: number } = {}) {
    this.minIntervalMs = opts.minIntervalMs ?? 100;
  }

  onChange(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  startJob<K extends JobKind>(kind: K, label: string, fn: JobFn<JobResults[K]>): JobInfo {
    const id = randomUUID();
    const controller = new AbortController();
    const job: JobInfoOf<K> = { id, kind, status: 'running', label, done: 0, total: 0, eta: null, message: null, result: null };
    // TypeScript does not see a JobInfoOf<K> of a generic K as a member of the JobInfo union
    const info = job as JobInfo;
    const startedAt = Date.now();
    const progress: Progress = (done, total, message, detail) => {
      if (info.status !== 'running') return;
      info.done = done;
      info.total = total;
      if (message !== undefined) info.message = message;
      if (detail !== undefined) info.detail = detail;
      const elapsed = (Date.now() - startedAt) / 1000;
      // A job that measures its own speed (training: pairs/s of the current phase) knows better.
      info.eta =
        detail?.etaSec !== undefined
          ? detail.etaSec
          : done > 0 && total > done
            ? (elapsed / done) * (total - done)
            : total > 0 && done >= total
              ? 0
              : null;
      this.emit(info, false);
    };
    const promise = (async () => {
      // Let the caller receive the job id before any work (or failure) happens.
      await Promise.resolve();
      try {
        const result = await fn(progress, controller.signal);
        if (controller.signal.aborted) info.status = 'cancelled';
        else {
          info.status = 'done';
          job.result = result ?? null;
          if (info.total > 0) info.done = info.total;
          info.eta = 0;
        }
      } catch (e) {
        info.status = controller.signal.aborted ? 'cancelled' : 'failed';
        info.message = (e as Error)?.message?.split('\n')[0] ?? String(e);
      }
      this.emit(info, true);
      return { ...info };
    })();
    this.jobs.set(id, { info, controller, startedAt, promise });
    this.emit(info, true);
    return { ...info };
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((e) => ({ ...e.info }));
  }

  get(id: string): JobInfo | undefined {
    const e = this.jobs.get(id);
    return e ? { ...e.info } : undefined;
  }

  /** Resolves when the job has finished (whatever its outcome). */
  wait(id: string): Promise<JobInfo> {
    const e = this.jobs.get(id);
    if (!e) return Promise.reject(notFound(`no job ${id}`));
    return e.promise;
  }

  cancel(id: string): boolean {
    const e = this.jobs.get(id);
    if (!e || e.info.status !== 'running') return false;
    e.controller.abort();
    return true;
  }

  cancelAll(): void {
    for (const id of this.jobs.keys()) this.cancel(id);
  }

  private emit(info: JobInfo, force: boolean) {
    const now = Date.now();
    if (!force && now - (this.lastEmit.get(info.id) ?? 0) < this.minIntervalMs) return;
    this.lastEmit.set(info.id, now);
    const snapshot = { ...info, ...(info.detail ? { detail: { ...info.detail } } : {}) };
    for (const l of this.listeners) {
      try {
        l(snapshot);
      } catch {
        // A broken listener (closed window) must not break the job.
      }
    }
  }
}
