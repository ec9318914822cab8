import type { Req } from '../../shared/ipc.ts';

/**
 * The desktop app's native file dialogs, shown by the main process for `dialog:choose`. The page
 * never hands the main side a path of its own: it asks for a dialog, the user picks, and the api
 * turns the pick into a one-time grant token (src-main/api/path-access.ts).
 */

/** The part of Electron's `dialog` module used here (injected, so tests need no Electron). */
export interface DialogLike {
  showOpenDialog(
    window: unknown,
    options: { title: string; properties: string[]; filters?: { name: string; extensions: string[] }[] },
  ): Promise<{ canceled: boolean; filePaths: string[] }>;
  showSaveDialog(window: unknown, options: { title: string; defaultPath?: string }): Promise<{ canceled: boolean; filePath?: string }>;
}

export function createChooser(dialog: DialogLike, parentWindow: () => unknown) {
  return async (req: Req<'dialog:choose'>): Promise<string | null> => {
    if (req.purpose === 'save') {
      const r = await dialog.showSaveDialog(parentWindow(), { title: 'Save as', defaultPath: req.defaultName });
      return r.canceled || !r.filePath ? null : r.filePath;
    }
    const r = await dialog.showOpenDialog(parentWindow(), {
      title: req.purpose === 'folder' ? 'Choose a folder' : 'Choose a file',
      properties: [req.purpose === 'folder' ? 'openDirectory' : 'openFile'],
      ...(req.purpose === 'file' ? { filters: [{ name: 'COCO captions JSON', extensions: ['json'] }] } : {}),
    });
    return r.canceled || r.filePaths.length !== 1 ? null : r.filePaths[0];
  };
}
