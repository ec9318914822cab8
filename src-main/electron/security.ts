/**
 * Security rules of the Electron shell, as small functions over injected Electron objects
 * (vite-electron-builder style), so each can be unit-tested without the Electron binary.
 * See docs/app.md § Security for the model.
 */

/** The renderer's origin: it is loaded from the privileged `plumage-app://` scheme, never file://. */
export const APP_SCHEME = 'plumage-app';
export const APP_ORIGIN = `${APP_SCHEME}://renderer`;
export const IMAGE_SCHEME = 'plumage-image';

/** CSP of the desktop window: like browser mode, plus the image protocol; no network at all. */
export const ELECTRON_CSP =
  "default-src 'self'; img-src 'self' data: blob: plumage-image:; style-src 'self' 'unsafe-inline'; " +
  "script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The BrowserWindow options: every web preference that matters for isolation set explicitly. */
export function hardenedWindowOptions(preload: string) {
  return {
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    show: false, // shown on ready-to-show, so there is no white flash
    title: 'Plumage',
    backgroundColor: '#1e1f22',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** Whether a URL belongs to the app itself (the only place the window may navigate to). */
export function isAppUrl(url: string, allowedOrigins: readonly string[]): boolean {
  let origin: string;
  try {
    const u = new URL(url);
    // Custom schemes have an opaque WHATWG origin ('null'); rebuild it from protocol and host.
    origin = `${u.protocol}//${u.host}`;
  } catch {
    return false;
  }
  return allowedOrigins.includes(origin);
}

/** Only plain web links may be handed to the system browser (never file:, smb:, custom schemes…). */
export function isExternalLink(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

interface PreventableEvent {
  preventDefault(): void;
}

/** The part of Electron's WebContents this module uses. */
export interface WebContentsLike {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: PreventableEvent, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent, ...rest: unknown[]) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void;
}

/**
 * Blocks navigation away from the app, every new window (web links open in the system browser
 * instead) and <webview> tags. Installed on every web contents Electron creates.
 */
export function guardWebContents(
  contents: WebContentsLike,
  opts: { allowedOrigins: readonly string[]; openExternal?: (url: string) => unknown },
): void {
  const block = (event: PreventableEvent, url: string) => {
    if (!isAppUrl(url, opts.allowedOrigins)) event.preventDefault();
  };
  contents.on('will-navigate', block);
  contents.on('will-redirect', block);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (opts.openExternal && isExternalLink(url)) void opts.openExternal(url);
    return { action: 'deny' };
  });
}

/** The part of Electron's Session this module uses. */
export interface SessionLike {
  setPermissionRequestHandler(
    handler: ((contents: unknown, permission: string, callback: (granted: boolean) => void, details?: unknown) => void) | null,
  ): void;
  setPermissionCheckHandler(handler: ((...args: unknown[]) => boolean) | null): void;
  webRequest: {
    onHeadersReceived(
      listener: (
        details: { url: string; responseHeaders?: Record<string, string[] | string> },
        callback: (response: { responseHeaders?: Record<string, string[] | string> }) => void,
      ) => void,
    ): void;
  };
}

/** The workbench needs no camera, microphone, geolocation, notifications…: deny every request and check. */
export function denyAllPermissions(session: SessionLike): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/** Adds the CSP header to every response the session sees (dev server included), replacing any other. */
export function enforceCsp(session: SessionLike, csp: string = ELECTRON_CSP): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const headers: Record<string, string[] | string> = {};
    for (const [k, v] of Object.entries(details.responseHeaders ?? {})) {
      if (k.toLowerCase() !== 'content-security-policy') headers[k] = v;
    }
    headers['Content-Security-Policy'] = [csp];
    callback({ responseHeaders: headers });
  });
}
