import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, type Fixture } from './api-fixture.ts';

/**
 * Packaging without the Electron binary: electron-builder.yml is parsed and validated with
 * electron-builder's own schema, the main/preload bundles are built with esbuild, every `files`
 * glob must match something, and the bundled main.js is run under Node against a fake `electron`
 * module to prove it starts, opens the database and answers over IPC and the image protocol.
 */

const repo = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(s: string): any };
const config = yaml.load(readFileSync(join(repo, 'electron-builder.yml'), 'utf8'));

let built: { main: string; preload: string; worker: string };
beforeAll(async () => {
  const { buildMain } = await import(pathToFileURL(join(repo, 'scripts/build-main.mjs')).href);
  built = await buildMain({ quiet: true });
  if (!existsSync(join(repo, 'src-renderer/dist/index.html'))) {
    const r = spawnSync(process.execPath, [join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'src-renderer/vite.config.ts'], {
      cwd: repo,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`renderer build failed: ${r.stderr}`);
  }
});

describe('electron-builder.yml', () => {
  it('declares the app, its targets and native-module handling', () => {
    expect(config.appId).toBe('org.plumage.app');
    expect(config.productName).toBe('Plumage');
    expect(config.files).toEqual(expect.arrayContaining(['dist/**', 'src-renderer/dist/**', 'resources/**', 'package.json']));
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining([
        'node_modules/better-sqlite3/**',
        'node_modules/sharp/**',
        'node_modules/@img/**',
        'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm',
      ]),
    );
    expect(config.npmRebuild).toBe(true);
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.win.target).toEqual(expect.arrayContaining(['nsis']));
    expect(config.mac.target).toEqual(expect.arrayContaining(['dmg']));
  });

  it('turns off the fuses that would let anyone run the app as a plain Node', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it("passes electron-builder's own configuration schema (and the schema does reject junk)", async () => {
    const { validateConfiguration, getConfig } = require('app-builder-lib/out/util/config/config');
    const { DebugLogger } = require('builder-util');
    const cfg = await getConfig(repo, join(repo, 'electron-builder.yml'), null);
    await expect(validateConfiguration(cfg, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...cfg, asarUnpackk: ['x'] }, new DebugLogger(false))).rejects.toThrow(/configuration/);
  });

  it('has the unpacked native modules in node_modules', () => {
    for (const p of ['better-sqlite3/package.json', 'sharp/package.json', '@img']) {
      expect(existsSync(join(repo, 'node_modules', p)), p).toBe(true);
    }
    const wasm = readdirSync(join(repo, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')).filter((f) => f.endsWith('.wasm'));
    expect(wasm.length).toBeGreaterThan(0);
  });
});

describe('npm run build:main', () => {
  it('produces dist/electron/main.js (ESM) and preload.js (CJS, electron only)', () => {
    expect(built.main).toBe(join(repo, 'dist/electron/main.js'));
    expect(statSync(built.main).size).toBeGreaterThan(10_000);
    const preload = readFileSync(built.preload, 'utf8');
    const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect([...new Set(required)]).toEqual(['electron']); // a sandboxed preload can require nothing else
    expect(preload).toContain('exposeInMainWorld("plumage"');
    const allowed = (s: string) =>
      s.startsWith('node:') || builtinModules.includes(s) || ['electron', 'better-sqlite3', 'sharp'].includes(s) || s.startsWith('@tensorflow/');
    const importsOf = (file: string) =>
      new Set([...readFileSync(file, 'utf8').matchAll(/^import .* from ["']([^"']+)["'];?$/gm)].map((m) => m[1]));
    const imported = importsOf(built.main);
    expect([...imported].filter((s) => !allowed(s))).toEqual([]);
    expect(imported.has('electron')).toBe(true);
    // the training worker is its own bundle (a Worker cannot start from a .ts file in a package)
    const worker = importsOf(built.worker);
    expect([...worker].filter((s) => !allowed(s))).toEqual([]);
    expect(worker.has('electron')).toBe(false);
  });

  it('leaves every `files` glob of the package matching real files', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('dist/electron/main.js');
    expect(existsSync(join(repo, pkg.main))).toBe(true);
    for (const glob of config.files as string[]) {
      if (glob.startsWith('!')) continue;
      const base = glob.replace(/\/\*\*$/, '');
      expect(existsSync(join(repo, base)), glob).toBe(true);
      if (glob.endsWith('/**')) expect(readdirSync(join(repo, base)).length, glob).toBeGreaterThan(0);
    }
    expect(existsSync(join(repo, 'src-renderer/dist/index.html'))).toBe(true);
    expect(existsSync(join(repo, 'resources/icon.png'))).toBe(true);
  });
});

describe('the bundled main process under a fake electron', () => {
  let fx: Fixture;
  let tmp: string;
  beforeAll(async () => {
    fx = await makeFixture(2);
    tmp = mkdtempSync(join(tmpdir(), 'plumage-fake-electron-'));
  });
  afterAll(() => {
    fx?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('starts: hardened window, app protocol, IPC answers, image protocol serves from the root', () => {
    const fake = join(tmp, 'electron.mjs');
    writeFileSync(
      fake,
      `
const s = { schemes: null, protocols: {}, handlers: {}, sandbox: false, windows: [], permission: null, csp: null, events: [] };
const report = async () => {
  const frame = { senderFrame: { url: 'plumage-app://renderer/index.html' } };
  const out = {
    schemes: s.schemes.map((x) => x.scheme), sandbox: s.sandbox, events: s.events,
    window: s.windows[0].options, loaded: s.windows[0].url, channels: Object.keys(s.handlers).sort(),
    info: await s.handlers['app:info'](frame, undefined),
    page: await s.handlers['images:query'](frame, { limit: 1 }),
    bad: await s.handlers['images:query'](frame, { limit: -1 }),
    permission: await new Promise((r) => s.permission({}, 'media', r)),
  };
  const img = await s.protocols['plumage-image'](new Request('plumage-image://image/1'));
  out.image = [img.status, img.headers.get('content-type')];
  const esc = await s.protocols['plumage-image']({ url: 'plumage-image://file/1/../../secret', method: 'GET' });
  out.escape = esc.status;
  const index = await s.protocols['plumage-app'](new Request('plumage-app://renderer/index.html'));
  out.index = [index.status, index.headers.get('content-security-policy')];
  process.stdout.write(JSON.stringify(out) + '\\n');
  process.exit(0);
};
class BrowserWindow {
  static getAllWindows() { return s.windows; }
  constructor(options) { this.options = options; this.webContents = { send() {} }; s.windows.push(this); }
  async loadURL(url) { this.url = url; setTimeout(() => report().catch((e) => { console.error(e); process.exit(3); }), 10); }
  once() {} show() {} isDestroyed() { return false; }
}
export const app = {
  requestSingleInstanceLock: () => true, quit() {}, exit: (c) => process.exit(c ?? 0),
  enableSandbox() { s.sandbox = true; }, on(e) { s.events.push(e); }, whenReady: async () => {},
  getPath: () => ${JSON.stringify(tmp)},
};
export const protocol = { registerSchemesAsPrivileged(x) { s.schemes = x; }, handle(name, fn) { s.protocols[name] = fn; } };
export const session = { defaultSession: {
  setPermissionRequestHandler(fn) { s.permission = fn; }, setPermissionCheckHandler() {},
  webRequest: { onHeadersReceived(fn) { s.csp = fn; } } } };
export const shell = { openExternal() {} };
export const dialog = { showOpenDialog: async () => ({ canceled: true, filePaths: [] }), showSaveDialog: async () => ({ canceled: true }) };
export const ipcMain = { handle(c, fn) { s.handlers[c] = fn; }, removeHandler() {}, on() {}, removeAllListeners() {} };
export { BrowserWindow };
export default { app, protocol, session, shell, dialog, ipcMain, BrowserWindow };
`,
    );
    writeFileSync(
      join(tmp, 'hooks.mjs'),
      `export async function resolve(spec, ctx, next) { return spec === 'electron' ? { url: ${JSON.stringify(pathToFileURL(fake).href)}, shortCircuit: true } : next(spec, ctx); }`,
    );
    writeFileSync(join(tmp, 'register.mjs'), `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(tmp, 'hooks.mjs')).href)});`);
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(tmp, 'register.mjs')).href, built.main], {
      cwd: repo,
      env: { ...process.env, PLUMAGE_HOME: fx.home, VITE_DEV_SERVER_URL: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.schemes).toEqual(['plumage-app', 'plumage-image']);
    expect(out.sandbox).toBe(true);
    expect(out.events).toEqual(expect.arrayContaining(['web-contents-created', 'window-all-closed']));
    expect(out.window.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(out.window.webPreferences.preload).toBe(join(repo, 'dist/electron/preload.js'));
    expect(out.loaded).toBe('plumage-app://renderer/index.html');
    expect(out.channels).toContain('captions:save');
    expect(out.channels).toContain('dialog:choose');
    expect(out.info.result).toMatchObject({ version: '0.1.0', home: fx.home });
    expect(out.page.result.total).toBe(2);
    expect(out.bad.error.code).toBe('invalid_request');
    expect(out.permission).toBe(false);
    expect(out.image).toEqual([200, 'image/png']);
    expect([400, 404]).toContain(out.escape);
    expect(out.index[0]).toBe(200);
    expect(out.index[1]).toContain("object-src 'none'");
  });

  it('runs training in the bundled worker-train.js, though the sources name worker-train.ts', async () => {
    const { resolveWorkerModule, runInWorker } = await import('../../src-main/jobs/worker-host.ts');
    // startTrainingWorker asks for './worker-train.ts' beside itself; in the bundle that is beside main.js.
    expect(readFileSync(built.main, 'utf8')).toContain('new URL("./worker-train.ts", import.meta.url)');
    const asked = new URL('./worker-train.ts', pathToFileURL(built.main));
    expect(existsSync(asked)).toBe(false);
    expect(resolveWorkerModule(asked).href).toBe(pathToFileURL(built.worker).href);
    // In development the .ts source is taken as named.
    const source = pathToFileURL(join(repo, 'src-main/jobs/train/worker-train.ts'));
    expect(resolveWorkerModule(source).href).toBe(source.href);
    const events: { type: string }[] = [];
    const job = runInWorker<{ status: string; epochs_run: number }, { type: string }>(
      asked,
      { home: fx.home, config: { variant: 'cnn', epochs: 1 } },
      (e) => events.push(e),
    );
    const res = await job.result;
    expect(res).toMatchObject({ status: 'done', epochs_run: 1 });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['start', 'step', 'epoch']));
  }, 60_000);

  it('splits training steps over the bundled worker-grads.js threads, started from worker-train.js', async () => {
    const { resolveWorkerModule, runInWorker } = await import('../../src-main/jobs/worker-host.ts');
    const trainer = readFileSync(built.worker, 'utf8');
    expect(trainer).toContain('new URL("./worker-grads.ts", import.meta.url)');
    const asked = new URL('./worker-grads.ts', pathToFileURL(built.worker));
    expect(resolveWorkerModule(asked).href).toBe(pathToFileURL(join(repo, 'dist/electron/worker-grads.js')).href);
    const logs: string[] = [];
    const job = runInWorker<{ status: string }, { type: string; message?: string }>(
      new URL('./worker-train.ts', pathToFileURL(built.main)),
      { home: fx.home, config: { variant: 'cnn', epochs: 1 }, workers: 2 },
      (e) => e.type === 'log' && logs.push(e.message ?? ''),
    );
    expect(await job.result).toMatchObject({ status: 'done' });
    expect(logs).toContain('each step is computed in 2 parts on 2 worker threads');
  }, 60_000);
});
