/**
 * The IPC contract: the only way the renderer reaches the main side. Three kinds, as in Heroic:
 *  - invoke  (request → response): `InvokeChannels`
 *  - send    (fire-and-forget):     `SendChannels`
 *  - push    (main → renderer):     `PushChannels`
 * The same maps drive the Electron preload bridge and the browser-mode WebSocket, and the api
 * validates every request at the boundary with the channel's zod schema (src-main/api/schemas.ts).
 * Errors cross as `{ error: { message, code } }` (codes: shared/errors.ts) and are rethrown as
 * `ApiError` on the other side; `humanError` turns one into a sentence for the screen.
 */
import type {
  BatchJobInfo,
  BatchResultItem,
  CamsView,
  ClassInfo,
  Collection,
  ImageDetail,
  ImagePage,
  ImageQuery,
  JobInfo,
  MaskData,
  PathCheck,
  ResumableRun,
  ReviewStatus,
  RunComparison,
  RunDetail,
  RunSummary,
  Variant,
  WordCamView,
} from './types.ts';

export interface InvokeChannels {
  'app:info': { req: void; res: { version: string; backend: string; home: string; warnings: string[] } };
  'collections:list': { req: void; res: Collection[] };
  'classes:list': { req: { collectionId?: number }; res: ClassInfo[] };
  'images:query': { req: ImageQuery; res: ImagePage };
  /** Every id images:query matches, in its order, without the pages (select all, the selection check). */
  'images:ids': { req: Omit<ImageQuery, 'offset' | 'limit'>; res: { ids: number[] } };
  'images:get': { req: { id: number }; res: ImageDetail };
  'labels:set': { req: { imageIds: number[]; classId: number | null }; res: { changed: number } };
  'review:set': { req: { imageIds: number[]; status: ReviewStatus }; res: { changed: number } };
  'captions:save': { req: { imageId: number; captionId?: number; text: string }; res: ImageDetail };
  'edits:undo': { req: void; res: { undone: boolean; imageIds: number[] } };
  'edits:redo': { req: void; res: { redone: boolean; imageIds: number[] } };
  // ---- Species manager: each is one undoable edit; a species' raw id never changes ----
  /**
   * A new species in the collection (conflict when another species already reads the same); the
   * photos in `imageIds` (the photo view's picker) are labelled with it in the same undo step.
   */
  'species:create': { req: { collectionId: number; name: string; imageIds?: number[] }; res: ClassInfo };
  /** A new display name (the raw id stays, in tooltips and exports). */
  'species:rename': { req: { classId: number; name: string }; res: ClassInfo };
  /** Every photo of `fromId` moves to `intoId`, and `fromId` leaves the species list. */
  'species:merge': { req: { fromId: number; intoId: number }; res: { moved: number } };
  'import:start': {
    req: { kind: 'cub' | 'flowers' | 'folder' | 'coco'; path: string; captions?: string };
    res: { jobId: string };
  };
  /** Synthetic demo birds written into the workspace and imported as a fresh collection (an import job). */
  'demo:start': { req: void; res: { jobId: string } };
  'jobs:list': { req: void; res: JobInfo[] };
  'jobs:cancel': { req: { jobId: string }; res: { cancelled: boolean } };
  'runs:list': { req: void; res: RunSummary[] };
  /**
   * Retrain: every field optional. Defaults: variant cam, the collection of the latest finished
   * run, warm start from the latest finished run of that collection (warmStart false: from
   * scratch; true: fail when there is none). When training finishes the job scores the collection.
   */
  'train:start': {
    req: RetrainRequest;
    res: { jobId: string };
  };
  'caption:start': { req: { folder: string; runId?: string }; res: { jobId: string } };
  // ---- heat maps, masks, review queue, runs dashboard, batch-caption review ----
  /** Scores the run's collection (default: the latest finished run) for the review queue. */
  'predict:start': { req: { runId?: string }; res: { jobId: string } };
  /** The next image in "most disputed first" order after afterId (null at the end / no predictions). */
  'images:nextDisputed': { req: { afterId?: number; collectionId?: number }; res: { imageId: number | null } };
  /** Grad-CAMs of one image (default run: the one whose predictions the gallery shows). */
  'cams:get': { req: { imageId: number; runId?: string }; res: CamsView };
  /** The CAM of one word of the model's caption (wordIndex into CamsView.words). */
  'cams:word': { req: { imageId: number; runId?: string; wordIndex: number }; res: WordCamView };
  'masks:get': { req: { imageId: number }; res: MaskData | null };
  /** png: base64 PNG (grey, or RGBA whose alpha is the mask), at most 4096×4096 and 2 MB. Undoable. */
  'masks:save': { req: { imageId: number; width: number; height: number; png: string }; res: MaskData };
  'masks:clear': { req: { imageId: number }; res: { cleared: boolean } };
  'train:resumable': { req: void; res: ResumableRun[] };
  'train:resume': { req: { runId: string; epochs?: number }; res: { jobId: string } };
  'runs:get': { req: { id: string }; res: RunDetail };
  /** Table 2 rows with relative improvements over the cnn / lrcn runs among `ids`. */
  'runs:compare': { req: { ids: string[] }; res: RunComparison };
  /** Class ids or names. */
  'runs:confusionCell': {
    req: { runId: string; trueClass: number | string; predClass: number | string };
    res: { imageIds: number[] };
  };
  /** Evaluates the run (metrics stored in the run) and scores its collection. */
  'eval:start': { req: { runId: string }; res: { jobId: string } };
  'batch:list': { req: void; res: BatchJobInfo[] };
  'batch:results': { req: { jobId: number }; res: BatchResultItem[] };
  'batch:review': {
    req: { jobId: number; relPath: string; review: 'accepted' | 'edited' | 'rejected'; caption?: string };
    res: BatchResultItem;
  };
  'batch:importAccepted': {
    req: { jobId: number; collectionId?: number };
    res: { collectionId: number; imported: number; captions: number; skipped: number };
  };
  /**
   * `path`: a file name (written into the workspace's exports/ folder), a grant token from
   * `dialog:choose`, or (browser mode) a path inside a folder allowed by `serve --allow-export-dir`.
   */
  /** include: 'accepted' (default: accepted and edited results) or 'all'; the CSV has a review column. */
  'batch:export': {
    req: { jobId: number; format: 'csv' | 'coco'; path: string; include?: 'accepted' | 'all' };
    res: { path: string; rows: number };
  };
  /**
   * Desktop app only (`unavailable` in browser mode): a native dialog in the main process. `folder`
   * and `file` choose something to read (import, batch caption), `save` a file to write. Answers a
   * one-time grant token to pass as the path of import:start / caption:start / batch:export (the
   * desktop app accepts no typed paths), and the chosen path for display; null when cancelled.
   */
  'dialog:choose': {
    req: { purpose: 'folder' | 'file' | 'save'; defaultName?: string };
    res: { token: string; path: string } | null;
  };
  /** Checks a typed path while the person types (import, batch caption): see PathCheck. */
  'paths:check': { req: { path: string; expect: 'folder' | 'file' }; res: PathCheck };
}

/**
 * Rounds (epochs: passes over every caption of every training photo) a Retrain trains when the
 * request names none: a warm-started Retrain fine-tunes the last run in one round (at least 5
 * passes over every photo), one from scratch trains the default recipe's 4 (at least 15 photo
 * passes). Measured in docs/model.md "Retrain after edits"; the settings form shows them as its
 * placeholder.
 */
export const RETRAIN_ROUNDS = { fineTune: 1, fromScratch: 4 } as const;

/** The weight λ of the heat-map agreement term L_cam a Retrain trains with when the request names none (the settings form's placeholder). */
export const RETRAIN_LAMBDA = 0.03;

/**
 * Retrain settings. recipe is the optimiser choice on top of the default recipe: 'paper' = SGD
 * with a constant learning rate (the paper's), 'practical' = Adam with cosine decay (the form
 * calls it "Adam, slowing down"). name and notes are kept in the run's configuration.
 */
export interface RetrainRequest {
  variant?: Variant;
  epochs?: number;
  warmStart?: boolean;
  collectionId?: number;
  lr?: number;
  batch?: number;
  lambda?: number;
  recipe?: 'paper' | 'practical';
  name?: string;
  notes?: string;
}

export interface SendChannels {
  'log:renderer': { level: 'info' | 'warn' | 'error'; message: string };
}

export interface PushChannels {
  'job:progress': JobInfo;
  'images:changed': { imageIds: number[] };
}

export type InvokeChannel = keyof InvokeChannels;
export type Req<C extends InvokeChannel> = InvokeChannels[C]['req'];
export type Res<C extends InvokeChannel> = InvokeChannels[C]['res'];

/** What crosses the wire for an invoke: exactly one of result / error. */
export type Envelope<T> = { result: T; error?: undefined } | { result?: undefined; error: { message: string; code: string } };

/** The renderer's view of the main side (window.plumage in Electron, a WebSocket client in the browser). */
export interface Api {
  invoke<C extends InvokeChannel>(channel: C, req: Req<C>): Promise<Res<C>>;
  send<C extends keyof SendChannels>(channel: C, msg: SendChannels[C]): void;
  on<C extends keyof PushChannels>(channel: C, listener: (msg: PushChannels[C]) => void): () => void;
}

/**
 * What the Electron preload exposes as `window.plumage`: the `Api`, plus `invokeEnvelope`, which
 * resolves to the raw envelope. Electron's contextBridge copies a rejected Error with its message
 * only (custom properties such as `code` are lost), so a renderer that needs the code in Electron
 * should call `invokeEnvelope` and unwrap it itself.
 */
export interface ElectronBridge extends Api {
  invokeEnvelope<C extends InvokeChannel>(channel: C, req: Req<C>): Promise<Envelope<Res<C>>>;
  /**
   * A one-time read grant for a folder or file dropped onto the window (a DOM `File` of a real
   * drop: its place on disk is read in the preload, never taken from the page), as `dialog:choose`
   * answers; null when the item has no place on disk or is gone.
   */
  grantDropped(file: unknown): Promise<{ token: string; path: string } | null>;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
