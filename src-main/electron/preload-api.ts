import { ApiError, type ElectronBridge, type Envelope, type PushChannels } from '../../shared/ipc.ts';
import { DROP_CHANNEL, INVOKE_CHANNELS, PUSH_CHANNELS, SEND_CHANNELS } from './channels.ts';

/**
 * The `Api` object the preload exposes as `window.plumage`, built over an injected ipcRenderer
 * (preload.ts passes the real one; tests a fake). Only the channels of shared/ipc.ts pass; the
 * main side's `{error}` envelopes are rethrown as real errors (ApiError, carrying `code`).
 */

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  send(channel: string, ...args: unknown[]): void;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

const invokeOk = new Set<string>(INVOKE_CHANNELS);
const sendOk = new Set<string>(SEND_CHANNELS);
const pushOk = new Set<string>(PUSH_CHANNELS);

/**
 * `pathForFile`: Electron's webUtils.getPathForFile — a dropped item's place on disk, '' for a File
 * the page made itself (it has none), so a grant is only ever asked for what the person dropped.
 */
export function createPreloadApi(ipc: IpcRendererLike, pathForFile: (file: unknown) => string = () => ''): ElectronBridge {
  async function invokeEnvelope(channel: string, req: unknown): Promise<Envelope<unknown>> {
    if (!invokeOk.has(channel)) return { error: { message: `unknown channel ${String(channel)}`, code: 'invalid_request' } };
    const env = (await ipc.invoke(channel, req)) as Envelope<unknown> | undefined;
    if (!env || typeof env !== 'object') return { error: { message: 'no answer from the main process', code: 'internal' } };
    // Rebuild a plain object: only these fields cross the bridge.
    return env.error ? { error: { message: String(env.error.message), code: String(env.error.code) } } : { result: env.result };
  }
  return {
    async invoke(channel, req) {
      const env = await invokeEnvelope(channel, req);
      if (env.error) throw new ApiError(env.error.message, env.error.code);
      return env.result as never;
    },
    invokeEnvelope: invokeEnvelope as ElectronBridge['invokeEnvelope'],
    async grantDropped(file) {
      let path: string;
      try {
        path = pathForFile(file);
      } catch {
        return null; // not a File
      }
      if (!path) return null;
      const env = (await ipc.invoke(DROP_CHANNEL, path)) as Envelope<{ token: string; path: string } | null> | undefined;
      if (!env || typeof env !== 'object') throw new ApiError('no answer from the main process', 'internal');
      if (env.error) throw new ApiError(String(env.error.message), String(env.error.code));
      return env.result ? { token: String(env.result.token), path: String(env.result.path) } : null;
    },
    send(channel, msg) {
      if (sendOk.has(channel)) ipc.send(channel, msg);
    },
    on(channel, listener) {
      if (!pushOk.has(channel)) return () => {};
      // Never hand the IpcRendererEvent (which holds `sender`) to the page.
      const wrapped = (_event: unknown, msg: unknown) => listener(msg as PushChannels[typeof channel]);
      ipc.on(channel, wrapped);
      return () => void ipc.removeListener(channel, wrapped);
    },
  };
}
