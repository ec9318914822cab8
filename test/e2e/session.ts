/**
 * One browser session against `plumage serve` for a spec: the server on a workspace, headless
 * Chromium, a page that records uncaught page errors, and one close() that undoes it all
 * (including the workspace folder). `useSession` registers that for a whole spec file; `poll`
 * and `readStored` are the two things every spec does with it (wait for a state, read SQLite).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { workspace } from '../../src-main/data/workspace.ts';
import { ARTIFACTS, launchChromium, startServe, type Served } from './serve.ts';

export interface AppSession {
  served: Served;
  browser: Browser;
  page: Page;
  /** Uncaught errors of the page; every spec expects none. */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * The CPU slow-down asked for with PLUMAGE_E2E_CPU_THROTTLE (e.g. 4 = four times slower), 1 when
 * unset: a stress setting that makes every race between an action and a read in a spec show up.
 */
export function cpuThrottleRate(): number {
  const raw = process.env.PLUMAGE_E2E_CPU_THROTTLE;
  if (raw === undefined || raw === '') return 1;
  const rate = Number(raw);
  if (!Number.isFinite(rate) || rate < 1) throw new Error(`PLUMAGE_E2E_CPU_THROTTLE must be a number ≥ 1, not '${raw}'`);
  return rate;
}

/** Slows the page's CPU by cpuThrottleRate() through DevTools (it lasts across reloads). */
export async function throttleCpu(page: Page): Promise<void> {
  const rate = cpuThrottleRate();
  if (rate === 1) return;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate });
}

/** A page for a spec: the given viewport, a 15 s default wait, CPU throttled when asked, page errors recorded. */
export async function newAppPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; pageErrors: string[] }> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(15_000);
  await throttleCpu(page);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return { page, pageErrors };
}

export async function openSession(home: string, viewport = { width: 1280, height: 800 }): Promise<AppSession> {
  const [served, browser] = await Promise.all([startServe(home), launchChromium()]);
  const { page, pageErrors } = await newAppPage(browser, viewport);
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    served,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close();
      await served.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * After a failed test: what the window showed (test-artifacts/failed-….png) and the end of the
 * server's stderr, so a failure on a CI machine can be understood from its log alone.
 */
export async function reportFailure(session: Pick<AppSession, 'page' | 'served'>, what: string): Promise<void> {
  const file = join(ARTIFACTS, `failed-${what.replace(/[^\w-]+/g, '-').slice(0, 80)}.png`);
  await session.page.screenshot({ path: file }).catch(() => {});
  console.error(`e2e failure in ${what}: screenshot ${file}; plumage serve stderr (end):\n${session.served.stderr().slice(-3000)}`);
}

/** What a spec file works with once its session is open (see useSession). */
export interface SpecSession<F> {
  /** The workspace folder (removed after the spec). */
  home: string;
  /** What the spec's `prepare` put into the workspace before the server started. */
  fx: F;
  served: Served;
  page: Page;
  pageErrors: string[];
}

/**
 * Registers the spec file's beforeAll / afterAll: a fresh workspace `plumage-e2e-<name>-…`,
 * `prepare(home)` fills it (before the server starts, as a curator's earlier work would), then
 * one session on it; afterAll closes everything and removes the workspace. The returned object is
 * filled in when beforeAll has run: read it inside hooks and tests, e.g.
 * `beforeAll(() => void ({ served, page, pageErrors } = spec))` right after this call.
 */
export function useSession<F>(
  name: string,
  prepare: (home: string) => F | Promise<F>,
  opts: { viewport?: { width: number; height: number }; setupMs?: number } = {},
): SpecSession<F> {
  const spec = {} as SpecSession<F>;
  let session: AppSession | undefined;
  // Budget: the fixture (CLI processes), then up to 90 s for the server to start (vitest's hook default).
  beforeAll(async () => {
    spec.home = mkdtempSync(join(tmpdir(), `plumage-e2e-${name}-`));
    spec.fx = await prepare(spec.home);
    session = await openSession(spec.home, opts.viewport);
    Object.assign(spec, { served: session.served, page: session.page, pageErrors: session.pageErrors });
  }, opts.setupMs ?? 180_000);
  afterEach(async (ctx) => {
    if (session && ctx.task.result?.state === 'fail') await reportFailure(session, `${name}-${ctx.task.name}`);
  });
  afterAll(async () => {
    if (session) await session.close();
    else if (spec.home) rmSync(spec.home, { recursive: true, force: true });
  });
  return spec;
}

/** Waits for a value to match (e2e tests never read once after an async action). */
export const poll = <T>(fn: () => T | Promise<T>, timeout = 15_000, interval = 100) => expect.poll(fn, { timeout, interval });

/**
 * A value to compare later results with, read after an action: polled until it passes `ok` and two
 * reads in a row agree, so a canvas being redrawn or a list being filled is never taken as the state.
 */
export async function steady<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, timeout = 15_000, interval = 150): Promise<T> {
  let previous: string | undefined;
  let value: T | undefined;
  await expect
    .poll(
      async () => {
        const v = await read();
        const seen = JSON.stringify(v);
        const settled = ok(v) && seen === previous;
        previous = seen;
        value = v;
        return settled ? 'steady' : v;
      },
      { timeout, interval },
    )
    .toBe('steady');
  return value as T;
}

/** Reads the workspace database directly (read-only), independently of the app under test. */
export function readStored<T>(home: string, read: (db: Database.Database) => T): T {
  const db = new Database(workspace(home).dbPath, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
