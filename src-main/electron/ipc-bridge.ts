import type { Envelope } from '../../shared/ipc.ts';
import type { PlumageApi } from '../api/service.ts';
import { DROP_CHANNEL, INVOKE_CHANNELS, PUSH_CHANNELS, SEND_CHANNELS } from './channels.ts';
import { isAppUrl } from './security.ts';

/**
 * The ONLY module touching ipcMain (eslint enforces it). Each invoke channel of shared/ipc.ts is
 * one ipcMain.handle that forwards to api.invoke and always answers an Envelope `{result}` or
 * `{error: {message, code}}` — a thrown error would reach the renderer as Electron's own
 * "Error invoking remote method" text with no code. Requests from any frame that is not the app
 * (an iframe, a page navigated elsewhere) are refused before they reach the api.
 */

interface IpcEvent {
  senderFrame?: { url: string } | null;
}

/** The part of Electron's ipcMain the bridge uses (injected, so tests need no Electron). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEvent, ...args: unknown[]) => Promise<unknown> | unknown): void;
  removeHandler(channel: string): void;
  on(channel: string, listener: (event: IpcEvent, ...args: unknown[]) => void): unknown;
  removeAllListeners(channel: string): unknown;
}

export interface BridgeOptions {
  allowedOrigins: readonly string[];
  /** Every window to push events to (closed ones are skipped). */
  targets: () => { isDestroyed(): boolean; send(channel: string, msg: unknown): void }[];
}

type BridgeApi = Pick<PlumageApi, 'invoke' | 'send' | 'on' | 'grantDropped'>;

export function bridgeIpc(ipcMain: IpcMainLike, api: BridgeApi, opts: BridgeOptions): () => void {
  const trusted = (event: IpcEvent) => !!event.senderFrame && isAppUrl(event.senderFrame.url, opts.allowedOrigins);
  for (const channel of INVOKE_CHANNELS) {
    ipcMain.handle(channel, async (event, ...args): Promise<Envelope<unknown>> => {
      if (!trusted(event)) return { error: { message: 'request from an untrusted frame', code: 'forbidden' } };
      if (args.length > 1) return { error: { message: `${channel}: expected one request argument`, code: 'invalid_request' } };
      return api.invoke(channel, args[0]);
    });
  }
  // A dropped item's place on disk, from the preload (see DROP_CHANNEL): a one-time read grant.
  ipcMain.handle(DROP_CHANNEL, async (event, ...args): Promise<Envelope<unknown>> => {
    if (!trusted(event)) return { error: { message: 'request from an untrusted frame', code: 'forbidden' } };
    if (args.length !== 1) return { error: { message: `${DROP_CHANNEL}: expected one path`, code: 'invalid_request' } };
    try {
      return { result: api.grantDropped(args[0]) };
    } catch (e) {
      return { error: { message: (e as Error).message, code: (e as { code?: string }).code ?? 'internal' } };
    }
  });
  for (const channel of SEND_CHANNELS) {
    ipcMain.on(channel, (event, msg) => {
      if (trusted(event)) api.send(channel, msg);
    });
  }
  const unsubscribe = PUSH_CHANNELS.map((channel) =>
    api.on(channel, (msg) => {
      for (const t of opts.targets()) if (!t.isDestroyed()) t.send(channel, msg);
    }),
  );
  return () => {
    for (const c of [...INVOKE_CHANNELS, DROP_CHANNEL]) ipcMain.removeHandler(c);
    for (const c of SEND_CHANNELS) ipcMain.removeAllListeners(c);
    unsubscribe.forEach((off) => off());
  };
}

/** Wires the real ipcMain (loaded lazily so this module stays importable without Electron). */
export async function installIpcBridge(api: BridgeApi, opts: BridgeOptions): Promise<() => void> {
  const { ipcMain } = await import('electron');
  return bridgeIpc(ipcMain as unknown as IpcMainLike, api, opts);
}
