import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { DROP_CHANNEL, INVOKE_CHANNELS } from '../../src-main/electron/channels.ts';
import { bridgeIpc, type IpcMainLike } from '../../src-main/electron/ipc-bridge.ts';
import { createPreloadApi, type IpcRendererLike } from '../../src-main/electron/preload-api.ts';
import { createChooser, type DialogLike } from '../../src-main/electron/dialogs.ts';
import { createAppProtocolHandler, createImageProtocolHandler, rawRoute } from '../../src-main/electron/protocol.ts';
import {
  APP_ORIGIN,
  ELECTRON_CSP,
  denyAllPermissions,
  enforceCsp,
  guardWebContents,
  hardenedWindowOptions,
  isAppUrl,
} from '../../src-main/electron/security.ts';
import { createMainWindow, type BrowserWindowCtor } from '../../src-main/electron/window.ts';
import { ApiError } from '../../shared/ipc.ts';
import { makeFixture, type Fixture } from './api-fixture.ts';

/**
 * The Electron shell without the Electron binary: every module takes the Electron objects it
 * uses as arguments, and these tests pass fakes that record what the shell did.
 */

const repo = resolve(import.meta.dirname, '../..');

describe('hardened window', () => {
  it('sets every isolation-relevant web preference', () => {
    const o = hardenedWindowOptions('/app/preload.js');
    expect(o.webPreferences).toMatchObject({
      preload: '/app/preload.js',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
    });
  });

  it('creates the window with those options and loads the app protocol, not file://', async () => {
    const made: { options: any; url?: string }[] = [];
    class FakeWindow {
      webContents = {};
      constructor(readonly options: any) {
        made.push({ options });
      }
      async loadURL(url: string) {
        made.at(-1)!.url = url;
      }
      once() {}
      show() {}
    }
    await createMainWindow(FakeWindow as unknown as BrowserWindowCtor, { preload: '/p.js' });
    expect(made).toHaveLength(1);
    expect(made[0].options.webPreferences.sandbox).toBe(true);
    expect(made[0].url).toBe(`${APP_ORIGIN}/index.html`);
  });
});

describe('navigation, new windows, permissions, CSP', () => {
  function fakeContents() {
    const handlers: Record<string, (e: { preventDefault(): void }, url?: string) => void> = {};
    let openHandler: ((d: { url: string }) => unknown) | null = null;
    return {
      contents: {
        on: (event: string, fn: any) => (handlers[event] = fn),
        setWindowOpenHandler: (fn: any) => (openHandler = fn),
      },
      navigate(event: string, url: string) {
        const e = { preventDefault: vi.fn() };
        handlers[event](e, url);
        return e.preventDefault.mock.calls.length > 0;
      },
      open: (url: string) => openHandler!({ url }),
    };
  }

  it('blocks navigation and redirects away from the app', () => {
    const f = fakeContents();
    guardWebContents(f.contents as any, { allowedOrigins: [APP_ORIGIN] });
    for (const url of [
      'https://evil.example/',
      'http://127.0.0.1:5173/',
      'file:///etc/passwd',
      'plumage-app://evil/index.html',
      'plumage-image://image/1',
      'javascript:alert(1)',
      'not a url',
    ]) {
      expect(f.navigate('will-navigate', url), url).toBe(true);
      expect(f.navigate('will-redirect', url), url).toBe(true);
    }
    expect(f.navigate('will-navigate', `${APP_ORIGIN}/index.html#/photo/3`)).toBe(false);
    expect(f.navigate('will-attach-webview', 'x')).toBe(true);
  });

  it('denies every new window and hands only web links to the system browser', () => {
    const f = fakeContents();
    const openExternal = vi.fn();
    guardWebContents(f.contents as any, { allowedOrigins: [APP_ORIGIN], openExternal });
    for (const url of ['https://example.org/', `${APP_ORIGIN}/index.html`, 'file:///etc/passwd', 'smb://host/share']) {
      expect(f.open(url)).toEqual({ action: 'deny' });
    }
    expect(openExternal.mock.calls).toEqual([['https://example.org/']]);
  });

  it('compares origins exactly', () => {
    expect(isAppUrl('plumage-app://renderer/x', [APP_ORIGIN])).toBe(true);
    expect(isAppUrl('plumage-app://renderer.evil/x', [APP_ORIGIN])).toBe(false);
    expect(isAppUrl('plumage-app://renderer@evil/x', [APP_ORIGIN])).toBe(false);
  });

  it('denies permission requests and checks, and forces the CSP header', () => {
    let request: any;
    let check: any;
    let headers: any;
    denyAllPermissions({
      setPermissionRequestHandler: (fn: any) => (request = fn),
      setPermissionCheckHandler: (fn: any) => (check = fn),
      webRequest: { onHeadersReceived: () => {} },
    });
    const cb = vi.fn();
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) request({}, p, cb);
    expect(cb.mock.calls.every(([granted]) => granted === false)).toBe(true);
    expect(check({}, 'media')).toBe(false);
    enforceCsp({
      setPermissionRequestHandler: () => {},
      setPermissionCheckHandler: () => {},
      webRequest: { onHeadersReceived: (fn: any) => (headers = fn) },
    });
    const out = vi.fn();
    headers({ url: 'x', responseHeaders: { 'content-security-policy': ["default-src *"], 'X-A': ['1'] } }, out);
    expect(out.mock.calls[0][0].responseHeaders).toEqual({ 'X-A': ['1'], 'Content-Security-Policy': [ELECTRON_CSP] });
    expect(ELECTRON_CSP).toContain("object-src 'none'");
    expect(ELECTRON_CSP).not.toMatch(/unsafe-eval|\*/);
  });
});

describe('plumage-image:// protocol', () => {
  let fx: Fixture;
  let api: PlumageApi;
  let handler: (r: Request) => Promise<Response>;
  const SECRET = 'SECRET-OUTSIDE-ROOT';
  beforeAll(async () => {
    fx = await makeFixture(2);
    writeFileSync(join(fx.dir, 'secret.txt'), SECRET);
    symlinkSync(join(fx.dir, 'secret.txt'), join(fx.root, 'a', 'evil.png'));
    mkdirSync(join(fx.dir, 'out'));
    writeFileSync(join(fx.dir, 'out', 'x.png'), SECRET);
    symlinkSync(join(fx.dir, 'out'), join(fx.root, 'outlink'));
    api = createApi({ home: fx.home, log: () => {} });
    handler = createImageProtocolHandler(api.resolveImage);
  });
  afterAll(() => {
    api?.close();
    fx?.cleanup();
  });
  // Chromium hands the handler a parsed Request; a raw object shows the path logic on unnormalised input too.
  const raw = (url: string) => ({ url, method: 'GET' }) as Request;

  it('serves an image and a thumbnail by id', async () => {
    const img = await handler(new Request(`plumage-image://image/${fx.imageIds[0]}`));
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await img.arrayBuffer())).toEqual(readFileSync(join(fx.root, 'a', 'img00000.png')));
    const th = await handler(new Request(`plumage-image://thumb/${fx.imageIds[1]}`));
    expect(th.status).toBe(200);
    expect(th.headers.get('content-type')).toBe('image/jpeg');
    expect((await handler(raw('plumage-image://image/99999'))).status).toBe(404);
    expect((await handler(raw('plumage-image://image/1/../2'))).status).toBe(400);
  });

  const attacks = [
    '../secret.txt',
    'a/../../secret.txt',
    '%2e%2e/secret.txt',
    '%2e%2e%2fsecret.txt',
    '%252e%252e%252fsecret.txt',
    '..%5csecret.txt',
    '..\\secret.txt',
    '%2fetc%2fpasswd',
    '/etc/passwd',
    'a/img00000.png%00',
    'a/evil.png',
    'outlink/x.png',
  ];
  for (const attack of attacks) {
    it(`refuses plumage-image://file/<collection>/${attack}`, async () => {
      for (const req of [raw(`plumage-image://file/${fx.collectionId}/${attack}`), new Request(`plumage-image://file/${fx.collectionId}/${attack}`)]) {
        const r = await handler(req);
        expect([400, 404]).toContain(r.status);
        expect(await r.text()).not.toContain(SECRET);
      }
    });
  }

  it('serves a file inside the root by path, and reads raw routes', async () => {
    expect((await handler(raw(`plumage-image://file/${fx.collectionId}/b/img00001.png`))).status).toBe(200);
    expect(rawRoute('plumage-image://file/1/%2e%2e/x?y#z', 'plumage-image')).toBe('file/1/%2e%2e/x');
    expect(rawRoute('https://file/1', 'plumage-image')).toBeNull();
  });

  it('serves the renderer only from its folder, with the CSP header', async () => {
    const dir = join(fx.dir, 'renderer');
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    const app = createAppProtocolHandler(dir);
    const ok = await app(new Request(`${APP_ORIGIN}/index.html`));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toBe(ELECTRON_CSP);
    for (const p of ['../secret.txt', '%2e%2e/secret.txt', '%252e%252e/secret.txt', '..%5csecret.txt']) {
      const r = await app(raw(`${APP_ORIGIN}/${p}`));
      expect([400, 404]).toContain(r.status);
      expect(await r.text()).not.toContain(SECRET);
    }
    expect((await app(raw('plumage-app://other/index.html'))).status).toBe(404);
  });
});

describe('ipc bridge and preload', () => {
  let fx: Fixture;
  let api: PlumageApi;
  beforeAll(async () => {
    fx = await makeFixture(3, { files: false });
    api = createApi({ home: fx.home, log: () => {} });
  });
  afterAll(() => {
    api?.close();
    fx?.cleanup();
  });

  function fakeIpcMain() {
    const handlers = new Map<string, (e: any, ...a: unknown[]) => unknown>();
    const listeners = new Map<string, (e: any, ...a: unknown[]) => void>();
    const ipcMain: IpcMainLike = {
      handle: (c, fn) => void handlers.set(c, fn),
      removeHandler: (c) => void handlers.delete(c),
      on: (c, fn) => listeners.set(c, fn),
      removeAllListeners: (c) => listeners.delete(c),
    };
    return { ipcMain, handlers, listeners };
  }
  const appFrame = { senderFrame: { url: `${APP_ORIGIN}/index.html` } };

  it('registers exactly the contract channels and answers envelopes, never throwing', async () => {
    const { ipcMain, handlers } = fakeIpcMain();
    const off = bridgeIpc(ipcMain, api, { allowedOrigins: [APP_ORIGIN], targets: () => [] });
    expect([...handlers.keys()].sort()).toEqual([...INVOKE_CHANNELS, DROP_CHANNEL].sort());
    const query = handlers.get('images:query')!;
    expect(await query(appFrame, { limit: 2 })).toMatchObject({ result: { total: 3 } });
    expect(await query(appFrame, { limit: 'x' })).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await query(appFrame, { limit: 2 }, 'extra')).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await query({ senderFrame: { url: 'https://evil.example/' } }, { limit: 2 })).toMatchObject({
      error: { code: 'forbidden' },
    });
    expect(await query({ senderFrame: null }, {})).toMatchObject({ error: { code: 'forbidden' } });
    const got = (await handlers.get('images:get')!(appFrame, { id: 424242 })) as any;
    expect(got.error).toEqual({ message: 'no image 424242', code: 'not_found' });
    off();
    expect(handlers.size).toBe(0);
  });

  it('pushes events to live windows only', async () => {
    const { ipcMain } = fakeIpcMain();
    const live = { isDestroyed: () => false, send: vi.fn() };
    const dead = { isDestroyed: () => true, send: vi.fn() };
    const off = bridgeIpc(ipcMain, api, { allowedOrigins: [APP_ORIGIN], targets: () => [live, dead] });
    await api.invoke('review:set', { imageIds: [fx.imageIds[0]], status: 'accepted' });
    expect(live.send).toHaveBeenCalledWith('images:changed', { imageIds: [fx.imageIds[0]] });
    expect(dead.send).not.toHaveBeenCalled();
    off();
  });

  it('preload: rethrows envelopes as ApiError, filters channels, hides the IPC event', async () => {
    const { ipcMain, handlers, listeners } = fakeIpcMain();
    const off = bridgeIpc(ipcMain, api, { allowedOrigins: [APP_ORIGIN], targets: () => [] });
    const pushListeners = new Map<string, Set<(e: unknown, m: unknown) => void>>();
    const ipcRenderer: IpcRendererLike = {
      invoke: vi.fn(async (c: string, ...a: unknown[]) => handlers.get(c)!(appFrame, ...a)),
      send: vi.fn((c: string, m: unknown) => listeners.get(c)?.(appFrame, m)),
      on: (c, fn) => (pushListeners.get(c) ?? pushListeners.set(c, new Set()).get(c)!).add(fn),
      removeListener: (c, fn) => pushListeners.get(c)?.delete(fn),
    };
    const plumage = createPreloadApi(ipcRenderer);
    const page = await plumage.invoke('images:query', { limit: 1 });
    expect(page.items).toHaveLength(1);
    const err = await plumage.invoke('images:get', { id: -1 }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('invalid_request');
    // the envelope form carries the code across contextBridge (which drops Error properties)
    expect(await plumage.invokeEnvelope('images:get', { id: 424242 })).toEqual({
      error: { message: 'no image 424242', code: 'not_found' },
    });
    expect(await plumage.invokeEnvelope('edits:redo', undefined)).toEqual({ result: { redone: false, imageIds: [] } });
    const unknown = await plumage.invoke('shell:exec' as any, {} as any).catch((e) => e);
    expect(unknown.code).toBe('invalid_request');
    expect(ipcRenderer.invoke).toHaveBeenCalledTimes(4);
    plumage.send('log:renderer', { level: 'info', message: 'hi' });
    plumage.send('evil' as any, {} as any);
    expect(ipcRenderer.send).toHaveBeenCalledTimes(1);
    const seen: unknown[][] = [];
    const unsubscribe = plumage.on('job:progress', (...args: unknown[]) => seen.push(args));
    for (const fn of pushListeners.get('job:progress')!) fn({ sender: 'secret' }, { id: 'j' });
    expect(seen).toEqual([[{ id: 'j' }]]);
    unsubscribe();
    expect(pushListeners.get('job:progress')!.size).toBe(0);
    off();
  });

  it('a dropped folder: the preload reads its place on disk, the main side grants it once', async () => {
    const desk = createApi({ home: fx.home, log: () => {}, paths: { mode: 'capability' } });
    const { ipcMain, handlers } = fakeIpcMain();
    const off = bridgeIpc(ipcMain, desk, { allowedOrigins: [APP_ORIGIN], targets: () => [] });
    const ipcRenderer: IpcRendererLike = {
      invoke: vi.fn(async (c: string, ...a: unknown[]) => handlers.get(c)!(appFrame, ...a)),
      send: vi.fn(),
      on: vi.fn(),
      removeListener: vi.fn(),
    };
    const dropped = { name: 'photos' }; // stands for the DOM File of a real drop
    const plumage = createPreloadApi(ipcRenderer, (f) => (f === dropped ? fx.root : ''));
    // A File the page made itself has no place on disk: nothing is asked of the main side.
    expect(await plumage.grantDropped({ name: 'etc' })).toBeNull();
    expect(ipcRenderer.invoke).not.toHaveBeenCalled();
    const grant = (await plumage.grantDropped(dropped))!;
    expect(grant.path).toBe(fx.root);
    expect(grant.token).toMatch(/^grant:[0-9a-f]{48}$/);
    // Typed, the same folder is refused; the grant works once.
    expect((await plumage.invokeEnvelope('import:start', { kind: 'folder', path: fx.root })).error?.code).toBe('invalid_request');
    const started = await plumage.invokeEnvelope('import:start', { kind: 'folder', path: grant.token });
    await desk.jobs.wait((started.result as { jobId: string }).jobId);
    expect((await plumage.invokeEnvelope('import:start', { kind: 'folder', path: grant.token })).error?.message).toMatch(/expired/);
    // The page's Api has no drop channel; the handler refuses other frames, relative paths and nothing there.
    expect((await plumage.invokeEnvelope(DROP_CHANNEL as any, '/etc' as any)).error?.code).toBe('invalid_request');
    const drop = handlers.get(DROP_CHANNEL)!;
    expect(await drop({ senderFrame: { url: 'https://evil.example/' } }, fx.root)).toMatchObject({ error: { code: 'forbidden' } });
    expect(await drop(appFrame, 'relative/x')).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await drop(appFrame, 42)).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await drop(appFrame, join(fx.dir, 'nope'))).toEqual({ result: null });
    off();
    desk.close();
  });

  it('Choose… / Save as…: the page gets a one-time token through preload and bridge, never a path of its own', async () => {
    // Everything real but Electron's dialog and IPC transport: capability-mode api, the chooser
    // of the main process, the IPC bridge, the preload api the page calls.
    const photos = join(fx.dir, 'chosen');
    mkdirSync(join(photos, 'Wren'), { recursive: true });
    writeFileSync(join(photos, 'Wren', 'w.png'), await sharp({ create: { width: 8, height: 8, channels: 3, background: '#884422' } }).png().toBuffer());
    const picks: (string | null)[] = [photos, join(fx.dir, 'saved.csv')];
    const shown: string[] = [];
    const dialog: DialogLike = {
      showOpenDialog: async (_w, o) => {
        shown.push(o.properties[0]);
        const p = picks.shift() ?? null;
        return { canceled: p === null, filePaths: p ? [p] : [] };
      },
      showSaveDialog: async (_w, o) => {
        shown.push(`save ${o.defaultPath}`);
        const p = picks.shift() ?? null;
        return { canceled: p === null, filePath: p ?? undefined };
      },
    };
    const desk = createApi({ home: fx.home, log: () => {}, paths: { mode: 'capability' }, choose: createChooser(dialog, () => null) });
    const { ipcMain, handlers, listeners } = fakeIpcMain();
    const off = bridgeIpc(ipcMain, desk, { allowedOrigins: [APP_ORIGIN], targets: () => [] });
    const ipcRenderer: IpcRendererLike = {
      invoke: async (c: string, ...a: unknown[]) => handlers.get(c)!(appFrame, ...a),
      send: (c: string, m: unknown) => listeners.get(c)?.(appFrame, m),
      on: () => {},
      removeListener: () => {},
    };
    const plumage = createPreloadApi(ipcRenderer);
    try {
      const typed = await plumage.invoke('import:start', { kind: 'folder', path: photos }).catch((e) => e);
      expect(typed).toBeInstanceOf(ApiError);
      expect(typed.message).toMatch(/Choose/);
      const chosen = await plumage.invoke('dialog:choose', { purpose: 'folder' });
      expect(chosen).toMatchObject({ path: photos, token: expect.stringMatching(/^grant:[0-9a-f]{48}$/) });
      const { jobId } = await plumage.invoke('import:start', { kind: 'folder', path: chosen!.token });
      expect((await desk.jobs.wait(jobId)).status).toBe('done');
      expect((await plumage.invoke('collections:list', undefined)).map((c) => c.root)).toContain(photos);
      expect((await plumage.invoke('import:start', { kind: 'folder', path: chosen!.token }).catch((e) => e)).message).toMatch(/expired/);
      expect((await plumage.invoke('caption:start', { folder: `grant:${'ab'.repeat(24)}` }).catch((e) => e)).message).toMatch(/expired/);
      // Another frame cannot ask for a dialog at all.
      expect(await handlers.get('dialog:choose')!({ senderFrame: { url: 'https://evil.example/' } }, { purpose: 'folder' })).toMatchObject({
        error: { code: 'forbidden' },
      });
      // Save as…: the token is for writing only, and works once.
      const save = await plumage.invoke('dialog:choose', { purpose: 'save', defaultName: 'captions.csv' });
      expect(save?.path).toBe(join(fx.dir, 'saved.csv'));
      expect((await plumage.invoke('import:start', { kind: 'folder', path: save!.token }).catch((e) => e)).message).toMatch(/expired/);
      expect(shown).toEqual(['openDirectory', 'save captions.csv']);
    } finally {
      off();
      desk.close();
    }
  });

  it('only ipc-bridge.ts and preload.ts import ipcMain / ipcRenderer', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|js|svelte)$/.test(e.name) && /\bipc(Main|Renderer)\b[^]*from ['"]electron['"]|import\(['"]electron['"]\)/.test(readFileSync(p, 'utf8'))) {
          offenders.push(relative(repo, p));
        }
      }
    };
    walk(join(repo, 'src-main'));
    expect(offenders.sort()).toEqual(['src-main/electron/ipc-bridge.ts', 'src-main/electron/preload.ts']);
  });
});
