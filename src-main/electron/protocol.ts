import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { decodeUrlPath, resolveInsideRoot } from '../api/image-paths.ts';
import type { ImageRouteResult } from '../api/image-routes.ts';
import { APP_SCHEME, ELECTRON_CSP, IMAGE_SCHEME } from './security.ts';

/**
 * The two custom protocols of the desktop app:
 *  - `plumage-image://image/<id>`, `plumage-image://thumb/<id>` (and `…://file/<collection>/<rel>`):
 *    photos, served only from inside registered collection roots (src-main/api/image-paths.ts,
 *    the same checks as browser mode);
 *  - `plumage-app://renderer/<path>`: the built renderer, so the window never runs from file://.
 * Handlers are plain `(Request) => Promise<Response>` functions; main.ts hands them to protocol.handle.
 */

/** Must be registered before the app is ready (Electron requirement). */
export const PRIVILEGED_SCHEMES = [
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  { scheme: IMAGE_SCHEME, privileges: { standard: true, secure: true, stream: true } },
];

/**
 * The raw path of a custom-scheme URL (host + path, without query or fragment), taken from the
 * string itself: WHATWG URL parsing would already have collapsed `..` and `%2e%2e`, hiding the
 * attack from the checks (which then refuse it, rather than silently serving something else).
 */
export function rawRoute(url: string, scheme: string): string | null {
  const prefix = `${scheme}://`;
  if (!url.toLowerCase().startsWith(prefix)) return null;
  return url.slice(prefix.length).split(/[?#]/)[0];
}

function text(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
  });
}

export function createImageProtocolHandler(resolveImage: (route: string) => Promise<ImageRouteResult>) {
  return async (request: Request): Promise<Response> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'method not allowed');
    const route = rawRoute(request.url, IMAGE_SCHEME);
    if (route === null) return text(400, 'bad request');
    let r: ImageRouteResult;
    try {
      r = await resolveImage(route);
    } catch {
      return text(500, 'internal error');
    }
    if (!r.ok) return text(r.status, { 400: 'bad request', 404: 'not found', 410: 'gone' }[r.status]);
    const body = await readFile(r.path);
    return new Response(request.method === 'HEAD' ? null : body, {
      status: 200,
      headers: {
        'Content-Type': r.contentType,
        'Content-Length': String(body.length),
        'Cache-Control': 'private, max-age=3600',
        'X-Content-Type-Options': 'nosniff',
      },
    });
  };
}

const APP_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export function createAppProtocolHandler(rendererDir: string, csp: string = ELECTRON_CSP) {
  return async (request: Request): Promise<Response> => {
    const route = rawRoute(request.url, APP_SCHEME);
    if (route === null || !route.startsWith('renderer/')) return text(404, 'not found');
    const rawPath = route.slice('renderer/'.length) || 'index.html';
    const rel = decodeUrlPath(rawPath);
    if (rel === null) return text(400, 'bad request');
    const safe = resolveInsideRoot(rendererDir, rel);
    if (!safe.ok) return text(404, 'not found');
    const body = await readFile(safe.path);
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': APP_TYPES[extname(safe.path).toLowerCase()] ?? 'application/octet-stream',
        'Content-Security-Policy': csp,
        'X-Content-Type-Options': 'nosniff',
      },
    });
  };
}
