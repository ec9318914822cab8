import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { decodeUrlPath, resolveInsideRoot } from '../api/image-paths.ts';
import type { PlumageApi } from '../api/service.ts';
import {
  CSP,
  SECURITY_HEADERS,
  TOKEN_COOKIE,
  hostAllowed,
  newToken,
  requestToken,
  tokenMatches,
} from './security.ts';
import { attachWebSocket } from './websocket.ts';

/**
 * Browser mode: the built renderer, the image routes and the api over one WebSocket, on
 * 127.0.0.1 only, every request authenticated by a random session token (wire protocol in
 * docs/app.md).
 */

export interface ServeOptions {
  api: PlumageApi;
  /** The built renderer (src-renderer/dist). A notice page is served when it is missing. */
  staticDir: string;
  port?: number;
  /** Fixed token (tests); a fresh 32-byte random one otherwise. */
  token?: string;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  server: Server;
  close(): Promise<void>;
}

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

const ROUTE_FAILURE = { 400: 'bad request', 404: 'not found', 410: 'gone: the photo changed or was damaged since it was imported' };

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Plumage</title></head>
<body><h1>Plumage</h1><p>The renderer is not built. Run <code>npm run build:renderer</code> and restart
<code>plumage serve</code>.</p></body></html>`;

export function startServer(opts: ServeOptions): Promise<RunningServer> {
  const { api } = opts;
  const token = opts.token ?? newToken();
  const log = opts.log ?? (() => {});

  function headers(res: ServerResponse, extra: Record<string, string | number> = {}) {
    for (const [k, v] of Object.entries({ ...SECURITY_HEADERS, 'Content-Security-Policy': CSP, ...extra })) {
      res.setHeader(k, v);
    }
  }

  function fail(res: ServerResponse, status: number, text: string) {
    if (res.headersSent) return res.destroy();
    headers(res, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.writeHead(status);
    res.end(text + '\n');
  }

  function sendFile(req: IncomingMessage, res: ServerResponse, path: string, type: string, cache: string) {
    const size = statSync(path).size;
    headers(res, { 'Content-Type': type, 'Content-Length': size, 'Cache-Control': cache });
    res.writeHead(200);
    if (req.method === 'HEAD') return res.end();
    createReadStream(path)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  function serveIndex(req: IncomingMessage, res: ServerResponse) {
    const index = `${opts.staticDir}/index.html`;
    const body = existsSync(index) ? readFileSync(index) : Buffer.from(NOT_BUILT);
    headers(res, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': body.length,
      'Cache-Control': 'no-store',
      // Lets <img> and asset requests authenticate even without ?token in their URL.
      'Set-Cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
    });
    res.writeHead(200);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (!hostAllowed(req)) return fail(res, 403, 'forbidden host');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!tokenMatches(token, requestToken(req, url))) return fail(res, 403, 'forbidden: missing or wrong session token');
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'method not allowed');
    // Work on the raw path: image routes decode their own segments exactly once.
    const rawPath = (req.url ?? '/').split('?')[0];
    if (rawPath === '/' || rawPath === '/index.html') return serveIndex(req, res);
    if (/^\/(image|thumb|file|batch-thumb)\//.test(rawPath)) {
      const r = await api.resolveImage(rawPath.slice(1));
      if (!r.ok) return fail(res, r.status, ROUTE_FAILURE[r.status]);
      return sendFile(req, res, r.path, r.contentType, 'private, max-age=3600');
    }
    const rel = decodeUrlPath(rawPath.slice(1));
    if (rel === null) return fail(res, 400, 'bad request');
    const safe = resolveInsideRoot(opts.staticDir, rel);
    if (!safe.ok) return fail(res, 404, 'not found');
    const type = STATIC_TYPES[extname(safe.path).toLowerCase()] ?? 'application/octet-stream';
    return sendFile(req, res, safe.path, type, 'no-cache');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      log(`plumage serve: ${req.method} ${req.url?.split('?')[0]} failed: ${(e as Error)?.message}`);
      fail(res, 500, 'internal error');
    });
  });

  const wss = attachWebSocket(server, { api, token, log });
  // A client that sends garbage before any request, or resets mid-response, loses its socket only.
  server.on('clientError', (_e, socket) => socket.destroy());

  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', (e) => log(`plumage serve: server error: ${e.message}`));
      const port = (server.address() as AddressInfo).port;
      resolvePromise({
        url: `http://127.0.0.1:${port}/?token=${token}`,
        port,
        token,
        server,
        close: () =>
          new Promise<void>((done) => {
            for (const c of wss.clients) c.terminate();
            wss.close();
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}
