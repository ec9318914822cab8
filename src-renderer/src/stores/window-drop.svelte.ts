/**
 * A folder dropped anywhere on the window (not on a path field) opens Import with it: in the
 * desktop app as a one-time grant, like Choose…; in a browser, which does not reveal where a
 * dropped folder is on disk, with a sentence asking for its path instead.
 */
import { errorText } from '../lib/api.ts';
import { chooseDropped, hasDialogs, type Chosen } from '../lib/choose.ts';
import { browserDropText } from '../lib/path-check.ts';
import { app } from './app.svelte.ts';

export interface DroppedFolder {
  /** The grant for the dropped folder; null where none could be had (browser mode). */
  chosen: Chosen | null;
  /** What to tell the curator about the drop; '' when the folder is ready to import. */
  note: string;
}

async function readDrop(file: File): Promise<DroppedFolder> {
  if (!hasDialogs) return { chosen: null, note: browserDropText(file.name) };
  try {
    const chosen = await chooseDropped(file);
    return chosen ? { chosen, note: '' } : { chosen: null, note: `“${file.name}” cannot be imported by dropping it: choose the folder with Choose….` };
  } catch (e) {
    return { chosen: null, note: errorText(e) };
  }
}

class WindowDrop {
  private pending: DroppedFolder | null = null;

  /** A drop no field took: opens Import with it, unless a dialog is open (also one opened while the grant was read). */
  async drop(file: File): Promise<void> {
    if (app.dialog) return;
    const dropped = await readDrop(file);
    if (app.dialog) return;
    this.pending = dropped;
    app.dialog = 'import';
  }

  /** The Import dialog takes the dropped folder once, when it opens. */
  take(): DroppedFolder | null {
    const dropped = this.pending;
    this.pending = null;
    return dropped;
  }
}

export const windowDrop = new WindowDrop();
