/**
 * The renderer's only door to the main side: the `Api` interface of shared/ipc.ts.
 *  - Electron: the preload bridge exposes it as `window.plumage`.
 *  - Browser mode (`plumage serve`): a WebSocket client speaking the agreed JSON frames,
 *    authenticated by the session token found in the page URL.
 * Errors come back as `{ message, code }` and are rethrown as `ApiError` so callers can show them.
 */
import { ApiError } from '../../../shared/ipc.ts';
import type { Api, ElectronBridge, InvokeChannel, PushChannels, Req, Res, SendChannels } from '../../../shared/ipc.ts';
import { humanError } from '../../../shared/errors.ts';

export { ApiError };

/** Frames main → renderer (browser mode). */
export type ServerFrame =
  | { kind: 'result'; id: number; result?: unknown; error?: { message: string; code: string } }
  | { kind: 'push'; channel: keyof PushChannels; msg: unknown };

/** The subset of the DOM WebSocket the client uses, so tests can pass a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

const OPEN = 1;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Turns one result frame into a resolved value or an ApiError (pure; exported for tests). */
export function unwrapResult(frame: { result?: unknown; error?: { message?: unknown; code?: unknown } | null }): unknown {
  if (frame.error) {
    const message = typeof frame.error.message === 'string' ? frame.error.message : 'unknown error';
    const code = typeof frame.error.code === 'string' ? frame.error.code : 'internal';
    throw new ApiError(message, code);
  }
  return frame.result;
}

export interface WsApi extends Api {
  close(): void;
  /** Number of invokes still waiting for their result. */
  pendingCount(): number;
}

/**
 * WebSocket client for browser mode. Invokes issued before the socket opens are queued; when the
 * connection drops every pending invoke fails with ApiError code 'disconnected' (never hangs) and
 * the client reconnects with a short back-off.
 */
export function createWsApi(
  url: string,
  makeSocket: (url: string) => SocketLike = (u) => new WebSocket(u) as unknown as SocketLike,
  reconnectMs = 500,
): WsApi {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(msg: unknown) => void>>();
  let queue: string[] = [];
  let closed = false;
  let socket: SocketLike;

  const connect = () => {
    socket = makeSocket(url);
    socket.onopen = () => {
      const q = queue;
      queue = [];
      for (const f of q) socket.send(f);
    };
    socket.onmessage = (ev) => handleFrame(typeof ev.data === 'string' ? ev.data : String(ev.data));
    socket.onclose = () => {
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new ApiError('connection to Plumage lost', 'disconnected'));
      }
      if (!closed) setTimeout(connect, reconnectMs);
    };
    socket.onerror = () => {
      /* onclose follows and does the clean-up */
    };
  };

  const handleFrame = (text: string) => {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return; // not ours; ignore rather than crash the UI
    }
    if (frame.kind === 'result') {
      const p = pending.get(frame.id);
      if (!p) return;
      pending.delete(frame.id);
      try {
        p.resolve(unwrapResult(frame));
      } catch (e) {
        p.reject(e as Error);
      }
    } else if (frame.kind === 'push') {
      for (const l of listeners.get(frame.channel) ?? []) l(frame.msg);
    }
  };

  const post = (frame: object) => {
    const text = JSON.stringify(frame);
    if (socket.readyState === OPEN) socket.send(text);
    else queue.push(text);
  };

  connect();

  return {
    invoke<C extends InvokeChannel>(channel: C, req: Req<C>): Promise<Res<C>> {
      const id = nextId++;
      return new Promise<Res<C>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        post({ kind: 'invoke', id, channel, req: req === undefined ? null : req });
      });
    },
    send<C extends keyof SendChannels>(channel: C, msg: SendChannels[C]) {
      post({ kind: 'send', channel, msg });
    },
    on<C extends keyof PushChannels>(channel: C, listener: (msg: PushChannels[C]) => void) {
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      const l = listener as (msg: unknown) => void;
      set.add(l);
      return () => set!.delete(l);
    },
    close() {
      closed = true;
      socket.close();
    },
    pendingCount: () => pending.size,
  };
}

/** Where photos come from: Electron's custom protocol, or the serve routes with the token. */
export interface MediaUrls {
  imageUrl(id: number): string;
  thumbUrl(id: number): string;
  /** The thumbnail of one batch-caption result, by job and result id (never by path). */
  batchThumbUrl(jobId: number, resultId: number): string;
}

export function mediaUrls(mode: 'electron' | 'browser', token = ''): MediaUrls {
  if (mode === 'electron') {
    return {
      imageUrl: (id) => `plumage-image://image/${id}`,
      thumbUrl: (id) => `plumage-image://thumb/${id}`,
      batchThumbUrl: (jobId, resultId) => `plumage-image://batch-thumb/${jobId}/${resultId}`,
    };
  }
  const q = `?token=${encodeURIComponent(token)}`;
  return {
    imageUrl: (id) => `/image/${id}${q}`,
    thumbUrl: (id) => `/thumb/${id}${q}`,
    batchThumbUrl: (jobId, resultId) => `/batch-thumb/${jobId}/${resultId}${q}`,
  };
}

/** The WebSocket URL for a page served at `href` (keeps host and port, swaps the scheme). */
export function wsUrlFor(href: string, token: string): string {
  const u = new URL(href);
  const scheme = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${u.host}/ws?token=${encodeURIComponent(token)}`;
}

declare global {
  interface Window {
    plumage?: Api | ElectronBridge;
  }
}

/**
 * The Api over Electron's preload bridge. contextBridge drops custom error properties, so when the
 * bridge offers `invokeEnvelope` the envelope is unwrapped here and ApiError keeps its code.
 */
export function fromElectronBridge(bridge: Api | ElectronBridge): Api {
  const withEnvelope = 'invokeEnvelope' in bridge && typeof bridge.invokeEnvelope === 'function' ? bridge : null;
  return {
    invoke: <C extends InvokeChannel>(channel: C, req: Req<C>) =>
      withEnvelope
        ? withEnvelope.invokeEnvelope(channel, req).then((env) => unwrapResult(env) as Res<C>)
        : bridge.invoke(channel, req),
    send: (channel, msg) => bridge.send(channel, msg),
    on: (channel, listener) => bridge.on(channel, listener),
  };
}

function detect(): { api: Api; media: MediaUrls } {
  if (typeof window !== 'undefined' && window.plumage) {
    return { api: fromElectronBridge(window.plumage), media: mediaUrls('electron') };
  }
  const token = new URLSearchParams(location.search).get('token') ?? '';
  return { api: createWsApi(wsUrlFor(location.href, token)), media: mediaUrls('browser', token) };
}

let current: { api: Api; media: MediaUrls } | null = null;
function get() {
  return (current ??= detect());
}

/** The process-wide Api (created on first use). */
export const api: Api = {
  invoke: (channel, req) => get().api.invoke(channel, req),
  send: (channel, msg) => get().api.send(channel, msg),
  on: (channel, listener) => get().api.on(channel, listener),
};
export const imageUrl = (id: number) => get().media.imageUrl(id);
export const thumbUrl = (id: number) => get().media.thumbUrl(id);
export const batchThumbUrl = (jobId: number, resultId: number) => get().media.batchThumbUrl(jobId, resultId);

/** A user-facing one-liner for any error: the message only (an error code means nothing to a curator). */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return humanError({ code: e.code, message: e.code === 'invalid_request' ? plainValidation(e.message) : e.message });
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * A refused request in words: "captions:save: text: Too big: expected string to have <=10000
 * characters" → "the text is too long (at most 10,000 characters)". The channel name is dropped.
 */
export function plainValidation(message: string): string {
  const body = message.replace(/^[a-z]+:[a-zA-Z]+:\s*/, '');
  const m = /^([\w.[\]]+): (.*)$/.exec(body);
  const field = m ? m[1].replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase() : null;
  const why = m ? m[2] : body;
  const big = /Too big: expected (?:string|array) to have <=\s?(\d+) (characters|items)/i.exec(why);
  if (big) return `the ${field ?? 'input'} is too long (at most ${Number(big[1]).toLocaleString('en')} ${big[2]})`;
  const small = /Too small: expected (?:string|array) to have >=\s?(\d+)/i.exec(why);
  if (small) return Number(small[1]) === 1 ? `the ${field ?? 'input'} is empty` : `the ${field ?? 'input'} is too short`;
  return field ? `the ${field} was not accepted (${why.charAt(0).toLowerCase()}${why.slice(1)})` : why;
}
