import type { InvokeChannel, PushChannels, SendChannels } from '../../shared/ipc.ts';

/**
 * Runtime lists of the channels of shared/ipc.ts, for the preload and the ipc bridge: only these
 * names are ever registered or forwarded. The Record types make the compiler reject a list that
 * misses or invents a channel.
 */
const invoke: Record<InvokeChannel, true> = {
  'app:info': true,
  'collections:list': true,
  'classes:list': true,
  'images:query': true,
  'images:ids': true,
  'images:get': true,
  'labels:set': true,
  'review:set': true,
  'captions:save': true,
  'edits:undo': true,
  'edits:redo': true,
  'species:create': true,
  'species:rename': true,
  'species:merge': true,
  'import:start': true,
  'demo:start': true,
  'jobs:list': true,
  'jobs:cancel': true,
  'runs:list': true,
  'train:start': true,
  'caption:start': true,
  'predict:start': true,
  'images:nextDisputed': true,
  'cams:get': true,
  'cams:word': true,
  'masks:get': true,
  'masks:save': true,
  'masks:clear': true,
  'train:resumable': true,
  'train:resume': true,
  'runs:get': true,
  'runs:compare': true,
  'runs:confusionCell': true,
  'eval:start': true,
  'batch:list': true,
  'batch:results': true,
  'batch:review': true,
  'batch:importAccepted': true,
  'batch:export': true,
  'dialog:choose': true,
  'paths:check': true,
};
const send: Record<keyof SendChannels, true> = { 'log:renderer': true };
const push: Record<keyof PushChannels, true> = { 'job:progress': true, 'images:changed': true };

export const INVOKE_CHANNELS = Object.keys(invoke) as InvokeChannel[];
export const SEND_CHANNELS = Object.keys(send) as (keyof SendChannels)[];
export const PUSH_CHANNELS = Object.keys(push) as (keyof PushChannels)[];

/**
 * The preload's own channel for a folder or file dropped onto the window: it carries the item's
 * place on disk, read in the preload from a real drop (webUtils.getPathForFile). It is not part of
 * the page's Api, so the page cannot send a path of its own on it.
 */
export const DROP_CHANNEL = 'dialog:dropped';
