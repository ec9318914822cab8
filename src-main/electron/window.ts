import { APP_ORIGIN, hardenedWindowOptions } from './security.ts';

/**
 * Creates the main window (hardened options from security.ts) and loads the renderer from the
 * app protocol, or from the Vite dev server during development.
 */

export interface BrowserWindowLike {
  loadURL(url: string): Promise<unknown>;
  once(event: 'ready-to-show', listener: () => void): unknown;
  show(): void;
  webContents: unknown;
}

export type BrowserWindowCtor = new (options: ReturnType<typeof hardenedWindowOptions>) => BrowserWindowLike;

export function rendererUrl(devServerUrl?: string): string {
  return devServerUrl ? devServerUrl : `${APP_ORIGIN}/index.html`;
}

export async function createMainWindow(
  BrowserWindow: BrowserWindowCtor,
  opts: { preload: string; devServerUrl?: string },
): Promise<BrowserWindowLike> {
  const win = new BrowserWindow(hardenedWindowOptions(opts.preload));
  win.once('ready-to-show', () => win.show());
  await win.loadURL(rendererUrl(opts.devServerUrl));
  return win;
}
