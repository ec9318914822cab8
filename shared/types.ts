/**
 * Data types shared by the main process (api) and the renderer. Plain JSON-serialisable shapes:
 * they cross Electron IPC and the browser-mode WebSocket unchanged.
 */

export type ReviewStatus = 'unreviewed' | 'accepted' | 'fixed' | 'rejected';
export type Variant = 'cnn' | 'lrcn' | 'medi' | 'cam';
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Collection {
  id: number;
  name: string;
  root: string;
  kind: string;
  images: number;
}

export interface ClassInfo {
  id: number;
  collectionId: number;
  name: string;
  count: number;
}

/** One gallery tile: enough to draw the grid without another round trip. */
export interface ImageSummary {
  id: number;
  collectionId: number;
  fileName: string;
  relPath: string;
  width: number;
  height: number;
  classId: number | null;
  className: string | null;
  labelProvenance: string | null;
  split: string | null;
  reviewStatus: ReviewStatus;
  /** First accepted caption, for the tile tooltip and search results. */
  caption: string | null;
  /** 1 − cos(classifier CAM, captioner CAM) of the latest run, when known. */
  disagreement: number | null;
}

export interface CaptionRevision {
  text: string;
  provenance: string;
  at: string;
}

export interface Caption {
  id: number;
  ord: number;
  text: string;
  provenance: string;
  accepted: boolean;
  revisions: CaptionRevision[];
}

export interface ImageDetail extends ImageSummary {
  takenAt: string | null;
  gps: { lat: number; lon: number } | null;
  captions: Caption[];
  labelHistory: { classId: number | null; className: string | null; provenance: string; at: string }[];
  /** Model suggestions (top-5 species) from the latest run, when one exists. */
  suggestions: { classId: number; className: string; p: number }[];
}

export interface ImageQuery {
  collectionId?: number;
  classId?: number;
  split?: string;
  /** 'imported' | 'human' | 'model' (any model run). */
  provenance?: string;
  reviewStatus?: ReviewStatus;
  /** Full-text search over captions (FTS5 syntax, words are ANDed). */
  search?: string;
  /** Review-queue orders: most disputed, least confident, least likely caption first (latest done run's predictions). */
  sort?: 'path' | 'disagreement' | 'confidence' | 'likelihood';
  offset?: number;
  limit?: number;
}

export interface ImagePage {
  total: number;
  offset: number;
  items: ImageSummary[];
}

export interface RunSummary {
  id: string;
  createdAt: string;
  variant: Variant;
  encoder: string;
  backend: string;
  status: RunStatus;
  metrics: Record<string, number> | null;
  epochs: { epoch: number; [loss: string]: number }[];
  warnings: string[];
}

export type JobKind = 'import' | 'extract' | 'train' | 'evaluate' | 'caption';

export interface JobInfo {
  id: string;
  kind: JobKind;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  label: string;
  done: number;
  total: number;
  /** Seconds left, from measured speed. */
  eta: number | null;
  message: string | null;
  result: unknown;
}

export interface ImportReport {
  images: number;
  classes: number;
  captions: number;
  added: number;
  errors: { path: string; reason: string }[];
}
