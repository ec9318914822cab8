import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createPreloadApi } from './preload-api.ts';

/**
 * The ONLY module touching ipcRenderer (eslint enforces it). Runs sandboxed with context
 * isolation: the page gets `window.plumage` (the `Api` interface of shared/ipc.ts) and nothing else.
 */
contextBridge.exposeInMainWorld(
  'plumage',
  createPreloadApi(ipcRenderer, (file) => webUtils.getPathForFile(file as File)),
);
