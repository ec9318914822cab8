/**
 * Application state shared by the screens (Svelte 5 runes in a class). Views read it; all writes to
 * the main side go through `api` and then refresh what changed, so the screen never shows an edit
 * the database did not accept.
 */
import { api, errorText } from '../lib/api.ts';
import { speciesName, useDisplayNames } from '../lib/names.ts';
import { PagedImages } from '../lib/pages.ts';
import { clickSelect, emptySelection, selectAll, rangeIndices, type ClickMods, type Selection } from '../lib/selection.ts';
import { UndoClient } from '../lib/undo.ts';
import type { ClassInfo, Collection, FileStatus, ImagePage, ImageQuery, JobInfo, ReviewStatus } from '../../../shared/types.ts';

export type View = 'gallery' | 'photo' | 'runs' | 'batch';
export type DialogKind = 'import' | 'help' | 'captionFolder' | 'retrain' | 'species' | null;

export interface Filters {
  collectionId: number | null;
  classId: number | null;
  split: string;
  provenance: string;
  reviewStatus: ReviewStatus | '';
  /** '' = any; 'changed' / 'missing': photos whose file changed or went missing on disk. */
  fileStatus: FileStatus | '';
  search: string;
  /** Gallery order: by path, most CAM disagreement first, least confident, or least likely caption first. */
  sort: 'path' | 'disagreement' | 'confidence' | 'likelihood';
}

export interface Toast {
  id: number;
  text: string;
  error: boolean;
}

export interface AppInfo {
  version: string;
  backend: string;
  home: string;
  warnings: string[];
}

const PAGE_SIZE = 240;

export const TILE_SIZES = { min: 96, max: 256, standard: 168 } as const;

function readTileSize(): number {
  const v = Number(globalThis.localStorage?.getItem('plumage.tileSize'));
  return v >= TILE_SIZES.min && v <= TILE_SIZES.max ? v : TILE_SIZES.standard;
}

class AppState {
  view = $state<View>('gallery');
  dialog = $state<DialogKind>(null);
  /** Index (in the current query) of the focused / opened photo. */
  focusIndex = $state(0);
  selection = $state.raw<Selection>(emptySelection());
  filters = $state<Filters>({ collectionId: null, classId: null, split: '', provenance: '', reviewStatus: '', fileStatus: '', search: '', sort: 'path' });
  /** Bumped whenever the paged list changes, so derived views re-read it. */
  version = $state(0);
  classes = $state.raw<ClassInfo[]>([]);
  collections = $state.raw<Collection[]>([]);
  info = $state.raw<AppInfo | null>(null);
  /** Transient notifications (saves, finished jobs, errors), newest last. */
  toasts = $state.raw<Toast[]>([]);
  /** What Undo / Redo will act on, for their tooltips (this session's edits; older ones are unnamed). */
  edits = $state<{ undo: string[]; redo: string[] }>({ undo: [], redo: [] });
  /** Bumped after edits/undo so an open photo view reloads its detail. */
  detailVersion = $state(0);
  /** Gallery tile side in px (the thumbnail-size slider), remembered between sessions. */
  tileSize = $state(readTileSize());
  /** Gallery scroll offset, kept while the photo view is open. */
  galleryScroll = 0;
  /** Grid geometry reported by the gallery (for keyboard movement). */
  columns = 1;
  pageRows = 4;

  /** Photo view mode: the Grad-CAM heat maps and the mask brush instead of the plain photo. */
  heatmap = $state(false);
  /**
   * Client-side id filter (a confusion-matrix cell's misclassified photos): the gallery shows
   * exactly these photos, read one by one with images:get, until the filter is cleared.
   */
  idsFilter = $state.raw<{ ids: number[]; label: string } | null>(null);

  readonly pages = new PagedImages((q) => this.fetchPage(q), {}, PAGE_SIZE, () => this.version++);
  readonly undoClient = new UndoClient(api, (o) => this.afterEdit(o.imageIds, o.message));
  private toastSeq = 0;
  /** Set by the caption editor: saves a pending edit before the view changes. */
  flushEdits: (() => Promise<void>) | null = null;

  get total(): number {
    void this.version;
    return this.pages.total;
  }

  /** Whether the first page of the current query has arrived (reactive, unlike pages.ready). */
  get loaded(): boolean {
    void this.version;
    return this.pages.ready;
  }

  async start(): Promise<void> {
    api.on('images:changed', (m) => void this.afterEdit(m.imageIds, null));
    // The first page of photos goes out first and alone on the critical path to first paint;
    // the rest (backend name, collections, species) follows in parallel.
    performance.mark('plumage:start');
    const first = this.applyFilters().then(() => performance.mark('plumage:first-page'));
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
    const req = this.filters.collectionId != null ? { collectionId: this.filters.collectionId } : {};
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

  /** images:query, or — under an id filter — the filtered ids read with images:get. */
  private async fetchPage(q: ImageQuery): Promise<ImagePage> {
    const f = this.idsFilter;
    if (!f) return api.invoke('images:query', q);
    const offset = q.offset ?? 0;
    const slice = f.ids.slice(offset, offset + (q.limit ?? PAGE_SIZE));
    const items = await Promise.all(slice.map((id) => api.invoke('images:get', { id })));
    return { total: f.ids.length, offset, items };
  }

  async showIds(ids: number[], label: string): Promise<void> {
    this.idsFilter = { ids, label };
    this.view = 'gallery';
    await this.applyFilters();
  }

  async clearIds(): Promise<void> {
    this.idsFilter = null;
    await this.applyFilters();
  }

  /** Opens one photo by id: its index in the current list, or (not there) in "most disputed" order. */
  async openId(id: number): Promise<void> {
    await this.flush();
    let ids = await this.pages.allIds();
    let i = ids.indexOf(id);
    if (i < 0) {
      this.idsFilter = null;
      this.filters = { collectionId: null, classId: null, split: '', provenance: '', reviewStatus: '', fileStatus: '', search: '', sort: 'disagreement' };
      await this.applyFilters();
      ids = await this.pages.allIds();
      i = ids.indexOf(id);
    }
    if (i < 0) return this.say(`photo ${id} is not in the gallery`, true);
    await this.pages.ensureRange(i, i);
    this.focusIndex = i;
    this.view = 'photo';
  }

  /** Review queue: the next photo in "most disputed first" order after the open / focused one. */
  async nextDisputed(): Promise<void> {
    const cur = this.pages.at(this.focusIndex)?.id;
    try {
      const req: { afterId?: number; collectionId?: number } = {};
      if (this.view === 'photo' && cur != null) req.afterId = cur;
      if (this.filters.collectionId != null) req.collectionId = this.filters.collectionId;
      const { imageId } = await api.invoke('images:nextDisputed', req);
      if (imageId == null) return this.say('No more disputed photos (score the collection with a run first)');
      await this.openId(imageId);
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  query(): ImageQuery {
    const f = this.filters;
    const q: ImageQuery = { sort: f.sort };
    if (f.collectionId != null) q.collectionId = f.collectionId;
    if (f.classId != null) q.classId = f.classId;
    if (f.split) q.split = f.split;
    if (f.provenance) q.provenance = f.provenance;
    if (f.reviewStatus) q.reviewStatus = f.reviewStatus;
    if (f.fileStatus) q.fileStatus = f.fileStatus;
    if (f.search.trim()) q.search = f.search.trim();
    return q;
  }

  /** Whether any filter narrows the gallery (an empty result then means "no match", not "no photos"). */
  get filtered(): boolean {
    const f = this.filters;
    return !!(this.idsFilter || f.search.trim() || f.classId != null || f.collectionId != null || f.split || f.provenance || f.reviewStatus || f.fileStatus);
  }

  async applyFilters(): Promise<void> {
    this.selection = emptySelection();
    this.focusIndex = 0;
    this.galleryScroll = 0;
    await this.pages.setQuery(this.query());
    if (this.pages.error) this.say(this.pages.error, true);
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

  // ── selection ──────────────────────────────────────────────────────────────
  async click(index: number, mods: ClickMods): Promise<void> {
    if (mods.shift) {
      const [a, b] = rangeIndices(this.selection.anchor, index);
      await this.pages.ensureRange(a, b);
    }
    this.selection = clickSelect(this.selection, index, mods, this.pages.idAt);
    this.focusIndex = index;
  }

  async selectAll(): Promise<void> {
    try {
      this.selection = selectAll(await this.pages.allIds());
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  clearSelection(): void {
    this.selection = emptySelection();
  }

  // ── navigation ─────────────────────────────────────────────────────────────
  async open(index: number): Promise<void> {
    if (index < 0 || index >= this.total) return;
    this.focusIndex = index;
    this.view = 'photo';
  }

  async back(): Promise<void> {
    await this.flush();
    this.view = 'gallery';
  }

  async step(delta: number): Promise<void> {
    await this.flush();
    const next = Math.max(0, Math.min(this.total - 1, this.focusIndex + delta));
    await this.pages.ensureRange(next, next);
    this.focusIndex = next;
  }

  async flush(): Promise<void> {
    if (this.flushEdits) {
      try {
        await this.flushEdits();
      } catch (e) {
        this.say(errorText(e), true);
      }
    }
  }

  // ── edits ──────────────────────────────────────────────────────────────────
  /** Sets the species of photos; false when the save failed (the open photo is then re-read). */
  async setLabel(imageIds: number[], classId: number | null): Promise<boolean> {
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

  async setReview(imageIds: number[], status: ReviewStatus): Promise<void> {
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

  async undo(): Promise<void> {
    await this.flush();
    const what = this.edits.undo.at(-1);
    const o = await this.undoClient.undo().catch((e) => void this.say(errorText(e), true));
    if (o?.applied) this.edits = { undo: this.edits.undo.slice(0, -1), redo: [...this.edits.redo, what ?? 'an earlier edit'] };
  }

  async redo(): Promise<void> {
    const what = this.edits.redo.at(-1);
    const o = await this.undoClient.redo().catch((e) => void this.say(errorText(e), true));
    if (o?.applied) this.edits = { undo: [...this.edits.undo, what ?? 'an earlier edit'], redo: this.edits.redo.slice(0, -1) };
  }

  /** Re-reads the pages on screen and the open photo after anything changed on the main side. */
  async afterEdit(_imageIds: number[], message: string | null): Promise<void> {
    if (message) this.say(message);
    this.detailVersion++;
    await this.pages.refresh(this.pages.loadedPages());
    await this.loadClasses();
  }

  // ── jobs ───────────────────────────────────────────────────────────────────
  /** Re-reads what a finished job changed: new photos and species after an import, new scores after training. */
  afterJob(job: JobInfo): void {
    if (job.kind === 'import') {
      void this.loadCollections();
      void this.loadClasses();
      // The first photos of an empty gallery: query again (the total changes); otherwise refresh in place.
      void (this.total === 0 ? this.applyFilters() : this.pages.refresh([0]));
    }
    if (job.kind === 'train' || job.kind === 'predict' || job.kind === 'evaluate') {
      void this.pages.refresh(this.pages.loadedPages());
      this.detailVersion++;
    }
  }
}

export const app = new AppState();
