import { app, BrowserWindow, dialog, protocol, session, shell } from 'electron';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApi, type PlumageApi } from '../api/service.ts';
import { createChooser, type DialogLike } from './dialogs.ts';
import { installIpcBridge } from './ipc-bridge.ts';
import { createAppProtocolHandler, createImageProtocolHandler, PRIVILEGED_SCHEMES } from './protocol.ts';
import {
  APP_ORIGIN,
  APP_SCHEME,
  ELECTRON_CSP,
  IMAGE_SCHEME,
  denyAllPermissions,
  enforceCsp,
  guardWebContents,
  type SessionLike,
  type WebContentsLike,
} from './security.ts';
import { createMainWindow, type BrowserWindowCtor } from './window.ts';

/**
 * Electron main process: composition only. Every decision lives in a small module that is
 * tested without Electron (security.ts, protocol.ts, ipc-bridge.ts, window.ts); this file wires
 * them to the real objects. Bundled to dist/electron/main.js by scripts/build-main.mjs.
 */

const here = dirname(fileURLToPath(import.meta.url)); // dist/electron
const appRoot = resolve(here, '../..');
const devServerUrl = process.env.VITE_DEV_SERVER_URL || undefined;
const allowedOrigins = [APP_ORIGIN, ...(devServerUrl ? [new URL(devServerUrl).origin] : [])];

// One instance per workspace: a second launch focuses the first window.
if (!app.requestSingleInstanceLock()) app.quit();

protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES);
app.enableSandbox();

// Applies to every web contents ever created (windows, devtools, anything a bug might open).
app.on('web-contents-created', (_event, contents) => {
  guardWebContents(contents as unknown as WebContentsLike, { allowedOrigins, openExternal: (url) => shell.openExternal(url) });
});

let api: PlumageApi | null = null;

async function start() {
  await app.whenReady();
  const home = process.env.PLUMAGE_HOME || join(app.getPath('appData'), 'Plumage');
  // Typed paths are refused: folders to read and files to write come from native dialogs only.
  const choose = createChooser(dialog as unknown as DialogLike, () => BrowserWindow.getFocusedWindow());
  api = createApi({ home, paths: { mode: 'capability' }, choose });
  const s = session.defaultSession as unknown as SessionLike;
  denyAllPermissions(s);
  // The dev server needs its HMR socket; the packaged app talks to nothing but the two schemes.
  enforceCsp(s, devServerUrl ? ELECTRON_CSP.replace("connect-src 'self'", "connect-src 'self' ws://localhost:*") : ELECTRON_CSP);
  protocol.handle(IMAGE_SCHEME, createImageProtocolHandler(api.resolveImage));
  protocol.handle(APP_SCHEME, createAppProtocolHandler(join(appRoot, 'src-renderer', 'dist')));
  await installIpcBridge(api, {
    allowedOrigins,
    targets: () => BrowserWindow.getAllWindows().map((w) => ({ isDestroyed: () => w.isDestroyed(), send: (c, m) => w.webContents.send(c, m) })),
  });
  const open = () =>
    createMainWindow(BrowserWindow as unknown as BrowserWindowCtor, { preload: join(here, 'preload.js'), devServerUrl });
  await open();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void open();
  });
  app.on('second-instance', () => {
    const [w] = BrowserWindow.getAllWindows();
    if (w) {
      if (w.isMinimized()) w.restore();
      w.focus();
    }
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
app.on('will-quit', () => api?.close());

start().catch((e) => {
  process.stderr.write(`plumage: cannot start: ${(e as Error)?.stack ?? e}\n`);
  app.exit(1);
});
