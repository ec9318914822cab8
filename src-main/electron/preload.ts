import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createPreloadApi } from './preload-api.ts';

/**
 * The ONLY module touching ipcRenderer (eslint enforces it). Runs sandboxed with context
 * isolation: the page gets `window.plumage` (the `Api` interface of shared/ipc.ts, plus grantDropped,
 * which reads a dropped item's place on disk here, never from the page) and nothing else.
 */
const dropPath = (file: unknown) => webUtils.getPathForFile(file as File);
contextBridge.exposeInMainWorld('plumage', createPreloadApi(ipcRenderer, dropPath));
