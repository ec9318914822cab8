/** The shape every importer produces and the engine (./engine.ts) writes into the store. */
import type { ImportReport } from '../../../shared/types.ts';

export type ImporterKind = 'cub' | 'flowers' | 'folder' | 'coco';

/** A file that could not be imported, with its one-line reason. */
export type ImportError = ImportReport['errors'][number];

export interface ImportItem {
  /** Absolute path of the photo. */
  absPath: string;
  /** Path relative to the collection root, '/'-separated (the images.rel_path key). */
  relPath: string;
  /** The dataset's own image id (CUB image id, flower number, COCO id). */
  sourceId?: string;
  /** Key into ImportPlan.classes; absent = unlabelled. */
  classKey?: string;
  /** Captions given inline (COCO). */
  captions?: string[];
  /** A caption file to read (Reed text_c10, folder sidecar); absent file = no captions. */
  captionFile?: string;
  /** Bounding box x, y, w, h in pixels. */
  bbox?: [number, number, number, number];
  /** Part locations (CUB parts/part_locs.txt). */
  parts?: { part: number; x: number; y: number; visible: boolean }[];
  /** Part of the dataset's own split (scheme 'official'). */
  officialPart?: 'train' | 'val' | 'test';
  /** True when the item comes from a list file (absent file = "missing", not an error). */
  listed?: boolean;
}

export interface ImportPlan {
  kind: ImporterKind;
  /** Absolute collection root; images are served only from under it. */
  root: string;
  name: string;
  classes: Map<string, { name: string; sourceId: string | null }>;
  items: ImportItem[];
  /** Part definitions (CUB parts/parts.txt). */
  parts?: { sourceId: number; name: string }[];
  /** Problems found while reading metadata (malformed lines, unknown classes …). */
  errors: ImportError[];
  /** How listed-but-absent files are reported: a sample in errors (CUB) or only counted (flowers). */
  missingInErrors: boolean;
  /** Where captions were looked for, for the report. */
  captionsDir?: string | null;
  /** Folders with Reed-style class lists (trainvalclasses.txt / testclasses.txt) for the paper split. */
  notes?: string[];
}

export interface ImportOptions {
  captions?: string;
  name?: string;
  images?: string;
  thumbnails?: boolean;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  /** Stops the import between two images. */
  signal?: AbortSignal;
}

/** What the import job reports to the window (ImportReport), plus the rest of the engine's count. */
export interface ImportResult extends ImportReport {
  updated: number;
  unchanged: number;
  missing: number;
  failed: number;
  collection: number;
  name: string;
  root: string;
  kind: ImporterKind;
  captions_dir: string | null;
  seconds: number;
  /** Present when the import was cancelled part-way (what was written is whole). */
  cancelled?: boolean;
}
