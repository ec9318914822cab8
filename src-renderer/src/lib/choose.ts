/**
 * Native file dialogs of the desktop app. There the main side accepts no typed paths: the user
 * picks in a dialog and the page gets a one-time token to pass instead of the path (the path is
 * for display only). In browser mode there are no dialogs and paths are typed.
 */
import type { ElectronBridge } from '../../../shared/ipc.ts';
import { api } from './api.ts';

export const hasDialogs = typeof window !== 'undefined' && !!window.plumage;

export interface Chosen {
  token: string;
  path: string;
}

export function choose(purpose: 'folder' | 'file' | 'save', defaultName?: string): Promise<Chosen | null> {
  return api.invoke('dialog:choose', defaultName ? { purpose, defaultName } : { purpose });
}

/** What to send for a path field: the token if the field still shows the chosen path. */
export function pathOrToken(typed: string, chosen: Chosen | null): string {
  return chosen && chosen.path === typed ? chosen.token : typed.trim();
}

/**
 * The desktop app's grant for a folder (or file) dropped onto the window: the preload reads the
 * dropped item's place on disk (only a real drop has one) and the main process answers a one-time
 * token, as for a dialog. Null where there is no such bridge (browser mode) or nothing usable.
 */
export function chooseDropped(file: File): Promise<Chosen | null> {
  const bridge = typeof window !== 'undefined' ? (window.plumage as Partial<ElectronBridge> | undefined) : undefined;
  return bridge?.grantDropped ? bridge.grantDropped(file) : Promise.resolve(null);
}
