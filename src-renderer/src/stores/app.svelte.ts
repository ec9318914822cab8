/**
 * The app shell (Svelte 5 runes in a class): the current screen, the open dialog, backend info,
 * toasts, the edit history for Undo / Redo, species and collections, and what to re-read after an
 * edit or a finished job. The photo list itself is the gallery store's: it registers itself here
 * (`showPhotos`), so the shell can re-read it without importing it and every store imports `app`,
 * never the other way round. All writes to the main side go through `api` and then refresh what
 * changed, so the screen never shows an edit the database did not accept.
 */
import { api, errorText } from '../lib/api.ts';
import { speciesName, useDisplayNames } from '../lib/names.ts';
import { UndoClient } from '../lib/undo.ts';
import type { ClassInfo, Collection, JobInfo, ReviewStatus } from '../../../shared/types.ts';

export type View = 'gallery' | 'photo' | 'runs' | 'batch';
export type DialogKind = 'import' | 'help' | 'captionFolder' | 'retrain' | 'species' | null;

export interface Toast {
  id: number;
  text: string;
  error: boolean;
}

/** What the shell needs of the photo list (the gallery store) to keep it fresh. */
export interface PhotoList {
  /** The collection shown, or null for all: the species list follows it. */
  readonly collectionId: number | null;
  /** Loads the first page of the current query. */
  applyFilters(): Promise<void>;
  /** Re-reads the pages on screen. */
  refresh(): Promise<void>;
  /** New photos were imported. */
  afterImport(): Promise<void>;
}

/** Until the gallery registers, there are no photos to re-read. */
const NO_PHOTOS: PhotoList = {
  collectionId: null,
  applyFilters: async () => {},
  refresh: async () => {},
  afterImport: async () => {},
};

export interface AppInfo {
  version: string;
  backend: string;
  home: string;
  warnings: string[];
}

class AppState {
  view = $state<View>('gallery');
  dialog = $state<DialogKind>(null);
  /**
   * Bumped by openDialog: a dialog asked for again while its closed modal still waits for its
   * (late) close event is a new modal, which that close event must not take down.
   */
  dialogSeq = $state(0);
  classes = $state.raw<ClassInfo[]>([]);
  collections = $state.raw<Collection[]>([]);
  info = $state.raw<AppInfo | null>(null);
  /** Transient notifications (saves, finished jobs, errors), newest last. */
  toasts = $state.raw<Toast[]>([]);
  /** What Undo / Redo will act on, for their tooltips (this session's edits; older ones are unnamed). */
  edits = $state<{ undo: string[]; redo: string[] }>({ undo: [], redo: [] });
  /** Bumped after edits/undo so an open photo view reloads its detail. */
  detailVersion = $state(0);
  /**
   * Bumped when a job finished that may have changed which run scores the photos (training,
   * scoring, evaluation): an open heat map then shows the new run's maps.
   */
  scoresVersion = $state(0);
  /** Photo view mode: the Grad-CAM heat maps and the mask brush instead of the plain photo. */
  heatmap = $state(false);
  readonly undoClient = new UndoClient(api, (o) => this.afterEdit(o.imageIds, o.message));
  private toastSeq = 0;
  /** Set by the caption editor: saves a pending edit before the view changes; false when it could not (the editor keeps the text and says why). */
  flushEdits: (() => Promise<boolean>) | null = null;
  private photos: PhotoList = NO_PHOTOS;

  /** The gallery store registers its photo list here when it loads. */
  showPhotos(list: PhotoList): void {
    this.photos = list;
  }

  async start(): Promise<void> {
    api.on('images:changed', (m) => void this.afterEdit(m.imageIds, null));
    // The first page of photos goes out first and alone on the critical path to first paint;
    // the rest (backend name, collections, species) follows in parallel.
    performance.mark('plumage:start');
    const first = this.photos.applyFilters().then(() => performance.mark('plumage:first-page'));
    const rest = Promise.all([
      api.invoke('app:info', undefined).then((i) => (this.info = i)).catch(() => {}),
      api.invoke('collections:list', undefined).then((c) => (this.collections = c)).catch(() => {}),
      this.loadClasses(),
    ]);
    await Promise.all([first, rest]);
  }

  /** Sends an uncaught renderer error to the main side's log. */
  logError(message: string): void {
    api.send('log:renderer', { level: 'error', message });
  }

  async loadClasses(): Promise<void> {
    const collectionId = this.photos.collectionId;
    const req = collectionId != null ? { collectionId } : {};
    try {
      this.classes = await api.invoke('classes:list', req);
      useDisplayNames(this.classes);
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  async loadCollections(): Promise<void> {
    try {
      this.collections = await api.invoke('collections:list', undefined);
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  /** Shows a toast; it goes away by itself (errors stay longer) or when dismissed. */
  say(text: string, error = false): void {
    const toast = { id: ++this.toastSeq, text, error };
    // The same message again replaces the old toast instead of stacking a copy.
    this.toasts = [...this.toasts.filter((t) => t.text !== text).slice(-3), toast];
    setTimeout(() => this.dismiss(toast.id), error ? 10_000 : 5000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  /** Remembers a new edit's description for the Undo tooltip (a new edit clears the redo list). */
  recordEdit(description: string): void {
    this.edits = { undo: [...this.edits.undo.slice(-49), description], redo: [] };
  }

  get undoLabel(): string {
    return this.edits.undo.at(-1) ?? 'the last edit';
  }

  get redoLabel(): string {
    return this.edits.redo.at(-1) ?? 'the last undone edit';
  }

  /** Opens a dialog as a new modal, also when the same kind is still closing. */
  openDialog(kind: Exclude<DialogKind, null>): void {
    this.dialog = kind;
    this.dialogSeq++;
  }

  /**
   * Saves a pending caption edit (before the screen or the photo changes). False when it could
   * not be saved: the caller then stays where it is, so the typed text is not lost with the photo.
   */
  async flush(): Promise<boolean> {
    if (!this.flushEdits) return true;
    try {
      return await this.flushEdits();
    } catch (e) {
      this.say(errorText(e), true);
      return false;
    }
  }

  // ── edits ──────────────────────────────────────────────────────────────────
  /** Edits sent but not yet answered: Undo / Redo wait for them, so they act on (and name) the edit just made. */
  private pendingEdits = new Set<Promise<unknown>>();

  private tracked<T>(edit: Promise<T>): Promise<T> {
    this.pendingEdits.add(edit);
    void edit.finally(() => this.pendingEdits.delete(edit)).catch(() => {});
    return edit;
  }

  private async settled(): Promise<void> {
    while (this.pendingEdits.size) await Promise.allSettled([...this.pendingEdits]);
  }

  /** Sets the species of photos; false when the save failed (the open photo is then re-read). */
  setLabel(imageIds: number[], classId: number | null): Promise<boolean> {
    return this.tracked(this.saveLabel(imageIds, classId));
  }

  private async saveLabel(imageIds: number[], classId: number | null): Promise<boolean> {
    if (!imageIds.length) return false;
    try {
      const r = await api.invoke('labels:set', { imageIds, classId });
      const raw = classId == null ? null : (this.classes.find((c) => c.id === classId)?.name ?? `class ${classId}`);
      const what = `${raw == null ? 'Removed the species from' : `Set ${speciesName(raw)} on`} ${r.changed} photo${r.changed === 1 ? '' : 's'}`;
      if (r.changed) this.recordEdit(what);
      await this.afterEdit(imageIds, what);
      return true;
    } catch (e) {
      this.say(errorText(e), true);
      this.detailVersion++;
      return false;
    }
  }

  setReview(imageIds: number[], status: ReviewStatus): Promise<void> {
    return this.tracked(this.saveReview(imageIds, status));
  }

  private async saveReview(imageIds: number[], status: ReviewStatus): Promise<void> {
    if (!imageIds.length) return;
    try {
      const r = await api.invoke('review:set', { imageIds, status });
      const what = `Marked ${r.changed} photo${r.changed === 1 ? '' : 's'} ${status}`;
      if (r.changed) this.recordEdit(what);
      await this.afterEdit(imageIds, what);
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  /**
   * Undo and Redo first save a caption being typed (the toolbar button takes the focus from the
   * field, whose blur saves it), so they act on the journal's newest edit: that typed caption.
   * A caption that could not be saved stops them: the earlier edit is not undone out from under
   * the text, which stays in the field with the reason shown.
   */
  async undo(): Promise<void> {
    if (!(await this.flush())) return;
    await this.settled();
    const what = this.edits.undo.at(-1);
    const o = await this.undoClient.undo().catch((e) => void this.say(errorText(e), true));
    if (o?.applied) this.edits = { undo: this.edits.undo.slice(0, -1), redo: [...this.edits.redo, what ?? 'an earlier edit'] };
  }

  async redo(): Promise<void> {
    if (!(await this.flush())) return;
    await this.settled();
    const what = this.edits.redo.at(-1);
    const o = await this.undoClient.redo().catch((e) => void this.say(errorText(e), true));
    if (o?.applied) this.edits = { undo: [...this.edits.undo, what ?? 'an earlier edit'], redo: this.edits.redo.slice(0, -1) };
  }

  /** Re-reads the pages on screen and the open photo after anything changed on the main side. */
  async afterEdit(_imageIds: number[], message: string | null): Promise<void> {
    if (message) this.say(message);
    this.detailVersion++;
    await this.photos.refresh();
    await this.loadClasses();
  }

  // ── jobs ───────────────────────────────────────────────────────────────────
  /** Re-reads what a finished job changed: new photos and species after an import, new scores after training. */
  afterJob(job: JobInfo): void {
    if (job.kind === 'import') {
      void this.loadCollections();
      void this.loadClasses();
      void this.photos.afterImport();
    }
    if (job.kind === 'train' || job.kind === 'predict' || job.kind === 'evaluate') {
      void this.photos.refresh();
      this.detailVersion++;
      this.scoresVersion++;
    }
  }
}

export const app = new AppState();
