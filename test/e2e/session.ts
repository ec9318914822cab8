/**
 * One browser session against `plumage serve` for a spec: the server on a workspace, headless
 * Chromium, a page that records uncaught page errors, and one close() that undoes it all
 * (including the workspace folder).
 */
import { mkdirSync, rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchChromium, startServe, type Served } from './serve.ts';

export interface AppSession {
  served: Served;
  browser: Browser;
  page: Page;
  /** Uncaught errors of the page; every spec expects none. */
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openSession(home: string, viewport = { width: 1280, height: 800 }): Promise<AppSession> {
  // A loaded machine can take a while to start the server: allow 90 s before calling it broken.
  const [served, browser] = await Promise.all([startServe(home, 90_000), launchChromium()]);
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(15_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
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
