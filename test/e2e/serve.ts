/**
 * Runs `node bin/plumage.js serve --home H --json` as a child process (exactly as a user would)
 * and hands back the URL it prints, plus Chromium launched headless for playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const REPO = resolve(import.meta.dirname, '../..');
export const CHROMIUM = '/usr/bin/chromium';

export interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

// A loaded machine can take a while to start the server: 90 s before calling it broken.
export async function startServe(home: string, timeoutMs = 90_000): Promise<Served> {
  const child = spawn(process.execPath, ['bin/plumage.js', 'serve', '--home', home, '--json'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PLUMAGE_HOME: home },
  });
  // Never leave a server behind if the test process ends early.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not print its URL in ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          ok(JSON.parse(out.slice(0, nl)).url);
        } catch (e) {
          fail(new Error(`serve printed '${out.slice(0, nl)}': ${(e as Error).message}`));
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`serve exited with ${code}; stderr:\n${err}`));
    });
  });
  return {
    url,
    child,
    stderr: () => err,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Waits for apt to finish installing Chromium (never skips: the e2e suite must run). */
export async function waitForChromium(maxMs = 170_000): Promise<void> {
  const t0 = Date.now();
  while (!existsSync(CHROMIUM)) {
    if (Date.now() - t0 > maxMs) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

export async function launchChromium(): Promise<Browser> {
  await waitForChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export const ARTIFACTS = resolve(REPO, 'test-artifacts');
