/**
 * Native file dialogs of the desktop app. There the main side accepts no typed paths: the user
 * picks in a dialog and the page gets a one-time token to pass instead of the path (the path is
 * for display only). In browser mode there are no dialogs and paths are typed.
 */
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
