/**
 * Application state shared by the screens (Svelte 5 runes in a class). Views read it; all writes to
 * the main side go through `api` and then refresh what changed, so the screen never shows an edit
 * the database did not accept.
 */
import { api, errorText } from '../lib/api.ts';
import { PagedImages } from '../lib/pages.ts';
import { clickSelect, emptySelection, selectAll, rangeIndices, type ClickMods, type Selection } from '../lib/selection.ts';
import { UndoClient } from '../lib/undo.ts';
import type { ClassInfo, Collection, ImageQuery, JobInfo, ReviewStatus } from '../../../shared/types.ts';

export type View = 'gallery' | 'photo';
export type DialogKind = 'import' | 'help' | 'captionFolder' | null;

export interface Filters {
  collectionId: number | null;
  classId: number | null;
  split: string;
  provenance: string;
  reviewStatus: ReviewStatus | '';
  search: string;
  /** Gallery order: by path, most CAM disagreement first, or least confident first. */
  sort: 'path' | 'disagreement' | 'confidence';
}

export interface AppInfo {
  version: string;
  backend: string;
  home: string;
  warnings: string[];
}

const PAGE_SIZE = 240;

class AppState {
  view = $state<View>('gallery');
  dialog = $state<DialogKind>(null);
  /** Index (in the current query) of the focused / opened photo. */
  focusIndex = $state(0);
  selection = $state.raw<Selection>(emptySelection());
  filters = $state<Filters>({ collectionId: null, classId: null, split: '', provenance: '', reviewStatus: '', search: '', sort: 'path' });
  /** Bumped whenever the paged list changes, so derived views re-read it. */
  version = $state(0);
  classes = $state.raw<ClassInfo[]>([]);
  collections = $state.raw<Collection[]>([]);
  info = $state.raw<AppInfo | null>(null);
  jobs = $state.raw<JobInfo[]>([]);
  /** Short message at the bottom ("Labelled 3 photos", errors). */
  notice = $state<{ text: string; error: boolean } | null>(null);
  /** Bumped after edits/undo so an open photo view reloads its detail. */
  detailVersion = $state(0);
  /** Gallery scroll offset, kept while the photo view is open. */
  galleryScroll = 0;
  /** Grid geometry reported by the gallery (for keyboard movement). */
  columns = 1;
  pageRows = 4;

  readonly pages = new PagedImages((q) => api.invoke('images:query', q), {}, PAGE_SIZE, () => this.version++);
  readonly undoClient = new UndoClient(api, (o) => this.afterEdit(o.imageIds, o.message));
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set by the caption editor: saves a pending edit before the view changes. */
  flushEdits: (() => Promise<void>) | null = null;

  get total(): number {
    void this.version;
    return this.pages.total;
  }

  async start(): Promise<void> {
    api.on('job:progress', (job) => this.onJob(job));
    api.on('images:changed', (m) => void this.afterEdit(m.imageIds, null));
    // The first page of photos goes out first and alone on the critical path to first paint;
    // the rest (backend name, collections, species, jobs) follows in parallel.
    performance.mark('plumage:start');
    const first = this.applyFilters().then(() => performance.mark('plumage:first-page'));
    const rest = Promise.all([
      api.invoke('app:info', undefined).then((i) => (this.info = i)).catch(() => {}),
      api.invoke('collections:list', undefined).then((c) => (this.collections = c)).catch(() => {}),
      this.loadClasses(),
      api.invoke('jobs:list', undefined).then((jobs) => (this.jobs = jobs)).catch(() => {}),
    ]);
    await Promise.all([first, rest]);
  }

  async loadClasses(): Promise<void> {
    const req = this.filters.collectionId != null ? { collectionId: this.filters.collectionId } : {};
    try {
      this.classes = await api.invoke('classes:list', req);
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
    if (f.search.trim()) q.search = f.search.trim();
    return q;
  }

  async applyFilters(): Promise<void> {
    this.selection = emptySelection();
    this.focusIndex = 0;
    this.galleryScroll = 0;
    await this.pages.setQuery(this.query());
    if (this.pages.error) this.say(this.pages.error, true);
  }

  say(text: string, error = false): void {
    this.notice = { text, error };
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice = null), error ? 8000 : 3500);
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
  async setLabel(imageIds: number[], classId: number | null): Promise<void> {
    if (!imageIds.length) return;
    try {
      const r = await api.invoke('labels:set', { imageIds, classId });
      const name = classId == null ? 'no species' : (this.classes.find((c) => c.id === classId)?.name ?? `class ${classId}`);
      await this.afterEdit(imageIds, `Set ${name} on ${r.changed} photo${r.changed === 1 ? '' : 's'}`);
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  async setReview(imageIds: number[], status: ReviewStatus): Promise<void> {
    if (!imageIds.length) return;
    try {
      const r = await api.invoke('review:set', { imageIds, status });
      await this.afterEdit(imageIds, `Marked ${r.changed} photo${r.changed === 1 ? '' : 's'} ${status}`);
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  async undo(): Promise<void> {
    await this.flush();
    await this.undoClient.undo().catch((e) => this.say(errorText(e), true));
  }

  async redo(): Promise<void> {
    await this.undoClient.redo().catch((e) => this.say(errorText(e), true));
  }

  /** Re-reads the pages on screen and the open photo after anything changed on the main side. */
  async afterEdit(_imageIds: number[], message: string | null): Promise<void> {
    if (message) this.say(message);
    this.detailVersion++;
    await this.pages.refresh(this.pages.loadedPages());
    await this.loadClasses();
  }

  // ── jobs ───────────────────────────────────────────────────────────────────
  onJob(job: JobInfo): void {
    const others = this.jobs.filter((j) => j.id !== job.id);
    this.jobs = [...others, job];
    if (job.status === 'done' && job.kind === 'import') {
      void api.invoke('collections:list', undefined).then((c) => (this.collections = c)).catch(() => {});
      void this.loadClasses();
      void this.pages.refresh([0]);
    }
    if (job.status === 'failed') this.say(`${job.label}: ${job.message ?? 'failed'}`, true);
  }

  async startJob(run: () => Promise<{ jobId: string }>, label: string): Promise<string | null> {
    try {
      const { jobId } = await run();
      this.say(`${label} started`);
      return jobId;
    } catch (e) {
      this.say(`${label}: ${errorText(e)}`, true);
      return null;
    }
  }
}

export const app = new AppState();
