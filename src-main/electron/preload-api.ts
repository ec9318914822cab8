import { ApiError, type Api, type Envelope, type PushChannels } from '../../shared/ipc.ts';
import { INVOKE_CHANNELS, PUSH_CHANNELS, SEND_CHANNELS } from './channels.ts';

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

export function createPreloadApi(ipc: IpcRendererLike): Api {
  return {
    async invoke(channel, req) {
      if (!invokeOk.has(channel)) throw new ApiError(`unknown channel ${String(channel)}`, 'invalid_request');
      const env = (await ipc.invoke(channel, req)) as Envelope<unknown> | undefined;
      if (!env || typeof env !== 'object') throw new ApiError('no answer from the main process', 'internal');
      if (env.error) throw new ApiError(String(env.error.message), String(env.error.code));
      return env.result as never;
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
