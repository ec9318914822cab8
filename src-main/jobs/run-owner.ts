/**
 * Which process is training a run, so that a run whose process died (kill -9, a crash, a power
 * cut) is told apart from one still training in another process — by evidence, not by age alone.
 *
 * While a session trains, `<run>.owner.json` in the checkpoints folder names its process (pid,
 * host) and a heartbeat time it refreshes every HEARTBEAT_MS. The file is written before the run's
 * row says 'running' and removed when the session ends normally. `markInterruptedRuns` (called
 * when the api opens and when a training session starts) marks a 'running' run 'interrupted' when
 * its owner file is missing, names a process of this host that no longer exists, or has not beaten
 * for STALE_MS (a pid reused by another program, or a process on another machine that stopped).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { listRuns, updateRun } from '../data/runs.ts';
import type { Db } from '../data/store.ts';
import type { Workspace } from '../data/workspace.ts';
import { atomicWrite } from './run-artifact.ts';

export const HEARTBEAT_MS = 30_000;
export const STALE_MS = 10 * 60_000;

interface Owner {
  pid: number;
  host: string;
  heartbeatAt: number;
}

const ownerPath = (ws: Workspace, run: string) => join(ws.checkpoints, `${run}.owner.json`);

function readOwner(ws: Workspace, run: string): Owner | null {
  try {
    return JSON.parse(readFileSync(ownerPath(ws, run), 'utf8')) as Owner;
  } catch {
    return null; // missing, or torn by a crash of a version that wrote it in place
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Whether the run's training process is alive, as far as the evidence goes. */
export function ownerAlive(ws: Workspace, run: string, now = Date.now()): { alive: boolean; pid: number | null } {
  const o = readOwner(ws, run);
  if (!o) return { alive: false, pid: null };
  const beating = now - o.heartbeatAt < STALE_MS;
  const exists = o.host !== hostname() || processExists(o.pid);
  return { alive: beating && exists, pid: o.pid };
}

export interface RunClaim {
  /** Refreshes the heartbeat now (also done by a timer). */
  beat(): void;
  /** The session ended normally: the owner file goes. */
  release(): void;
}

/** Claims the run for this process until release(). */
export function claimRun(ws: Workspace, run: string): RunClaim {
  const path = ownerPath(ws, run);
  const beat = () => atomicWrite(path, (tmp) => writeFileSync(tmp, JSON.stringify({ pid: process.pid, host: hostname(), heartbeatAt: Date.now() })));
  beat();
  const timer = setInterval(() => {
    try {
      beat();
    } catch {
      // a full disk must not stop training; the next beat tries again
    }
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    beat,
    release() {
      clearInterval(timer);
      rmSync(path, { force: true });
    },
  };
}

/** Marks every 'running' run whose process is gone as 'interrupted'; returns their ids. */
export function markInterruptedRuns(db: Db, ws: Workspace): string[] {
  const marked: string[] = [];
  for (const run of listRuns(db, { status: 'running' })) {
    const { alive, pid } = ownerAlive(ws, run.id);
    if (alive) continue;
    updateRun(db, run.id, {
      status: 'interrupted',
      error: `the training process${pid ? ` (pid ${pid})` : ''} stopped before the run finished`,
    });
    if (existsSync(ownerPath(ws, run.id))) rmSync(ownerPath(ws, run.id), { force: true });
    marked.push(run.id);
  }
  return marked;
}
