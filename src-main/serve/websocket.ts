import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { PushChannels } from '../../shared/ipc.ts';
import type { PlumageApi } from '../api/service.ts';
import { hostAllowed, originAllowed, requestToken, tokenMatches } from './security.ts';

/**
 * Browser mode's WebSocket endpoint `/ws`: authenticates the upgrade, relays invoke/send frames to
 * the api and pushes to the page. A hostile or broken client can only ever lose its own
 * connection: protocol errors (invalid UTF-8, reserved bits, unmasked frames, bad close codes,
 * oversized frames) close that socket with the code RFC 6455 prescribes, never the process.
 */

/**
 * Largest frame accepted. The largest legitimate request is a painted mask (base64 of ≤ 2 MiB,
 * about 2.8 MiB) or a bulk edit of 100,000 ids (≤ 1.7 MiB); 8 MiB leaves room for both while a
 * flood of maximal frames stays far below memory.
 */
export const MAX_FRAME = 8 * 1024 * 1024;

type Frame = { kind?: unknown; id?: unknown; channel?: unknown; req?: unknown; msg?: unknown };

const PUSHED: (keyof PushChannels)[] = ['job:progress', 'images:changed'];

function invalid(message: string) {
  return { kind: 'result', id: null, error: { message, code: 'invalid_request' } };
}

/** Parses one message into a frame object, or null when it is not a JSON object in a text frame. */
export function parseFrame(data: RawData, isBinary: boolean): Frame | null {
  if (isBinary) return null;
  try {
    const frame = JSON.parse(data.toString()) as unknown;
    return typeof frame === 'object' && frame !== null && !Array.isArray(frame) ? (frame as Frame) : null;
  } catch {
    return null;
  }
}

async function answer(api: PlumageApi, frame: Frame): Promise<unknown> {
  if (frame.kind === 'invoke') {
    if (typeof frame.id !== 'number' || !Number.isSafeInteger(frame.id)) return invalid('invoke needs a numeric id');
    const env = await api.invoke(frame.channel, frame.req);
    return env.error ? { kind: 'result', id: frame.id, error: env.error } : { kind: 'result', id: frame.id, result: env.result };
  }
  if (frame.kind === 'send') {
    api.send(frame.channel, frame.msg);
    return undefined;
  }
  return invalid('unknown frame kind');
}

function serveConnection(api: PlumageApi, ws: WebSocket, log: (line: string) => void) {
  const send = (msg: unknown) => {
    if (msg !== undefined && ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const subscriptions = PUSHED.map((channel) => api.on(channel, (msg) => send({ kind: 'push', channel, msg })));
  ws.on('close', () => subscriptions.forEach((off) => off()));
  // ws has already closed the connection with the right code (1002, 1007, 1009) when this fires.
  ws.on('error', (e) => log(`plumage serve: closed a WebSocket connection: ${e.message}`));
  ws.on('message', (data, isBinary) => {
    const frame = parseFrame(data, isBinary);
    if (!frame) return send(invalid('malformed frame'));
    answer(api, frame).then(send, (e: Error) => {
      log(`plumage serve: a WebSocket request failed: ${e?.message}`);
      send(invalid('request failed'));
    });
  });
}

export interface WebSocketOptions {
  api: PlumageApi;
  token: string;
  log: (line: string) => void;
}

function refuseUpgrade(socket: Duplex) {
  socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}

/** Attaches `/ws` to the HTTP server; returns the WebSocketServer (closed with the server). */
export function attachWebSocket(server: Server, opts: WebSocketOptions): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME });
  wss.on('error', (e) => opts.log(`plumage serve: WebSocket server error: ${e.message}`));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A reset during the handshake must not become an unhandled 'error' event.
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ok =
      url.pathname === '/ws' && hostAllowed(req) && originAllowed(req) && tokenMatches(opts.token, requestToken(req, url));
    if (!ok) return refuseUpgrade(socket);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws: WebSocket) => serveConnection(opts.api, ws, opts.log));
  return wss;
}
