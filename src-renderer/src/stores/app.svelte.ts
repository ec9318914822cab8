/**
 * Application state shared by the screens (Svelte 5 runes in a class). Views read it; all writes to
 * the main side go through `api` and then refresh what changed, so the screen never shows an edit
 * the database did not accept.
 */
import { api, errorText } from '../lib/api.ts';
import { PagedImages } from '../lib/pages.ts';
import { clickSelect, emptySelection, selectAll, rangeIndices, type ClickMods, type Selection } from '../lib/selection.ts';
import { UndoClient } from '../lib/undo.ts';
import type { ClassInfo, Collection, ImagePage, ImageQuery, JobInfo, ResumableRun, ReviewStatus } from '../../../shared/types.ts';

export type View = 'gallery' | 'photo' | 'runs' | 'batch';
export type DialogKind = 'import' | 'help' | 'captionFolder' | 'retrain' | null;

/** One point of a live training curve (per step, or per finished epoch). */
export interface CurvePoint {
  x: number;
  y: number;
}

export interface Filters {
  collectionId: number | null;
  classId: number | null;
  split: string;
  provenance: string;
  reviewStatus: ReviewStatus | '';
  search: string;
  /** Gallery order: by path, most CAM disagreement first, least confident, or least likely caption first. */
  sort: 'path' | 'disagreement' | 'confidence' | 'likelihood';
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

  /** Photo view mode: the Grad-CAM heat maps and the mask brush instead of the plain photo. */
  heatmap = $state(false);
  /**
   * Client-side id filter (a confusion-matrix cell's misclassified photos): the gallery shows
   * exactly these photos, read one by one with images:get, until the filter is cleared.
   */
  idsFilter = $state.raw<{ ids: number[]; label: string } | null>(null);
  /** Runs that stopped mid-training and can be resumed (train:resumable, read on load). */
  resumable = $state.raw<ResumableRun[]>([]);
  /** The training job the Retrain panel follows. */
  trainJobId = $state<string | null>(null);
  /** Live curves per training job: step losses and per-epoch validation values. */
  curves = $state.raw<Record<string, { steps: Record<string, CurvePoint[]>; epochs: Record<string, CurvePoint[]> }>>({});

  readonly pages = new PagedImages((q) => this.fetchPage(q), {}, PAGE_SIZE, () => this.version++);
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
      this.loadResumable(),
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

  async loadResumable(): Promise<void> {
    try {
      this.resumable = await api.invoke('train:resumable', undefined);
    } catch {
      this.resumable = [];
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
      this.filters = { collectionId: null, classId: null, split: '', provenance: '', reviewStatus: '', search: '', sort: 'disagreement' };
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
    if (job.kind === 'train') this.recordCurves(job);
    if (job.status === 'done' && (job.kind === 'train' || job.kind === 'predict' || job.kind === 'evaluate')) {
      void this.loadResumable();
      void this.pages.refresh(this.pages.loadedPages());
      this.detailVersion++;
    }
    if (job.status === 'failed') this.say(`${job.label}: ${job.message ?? 'failed'}`, true);
  }

  /** Appends a training push to its job's curves (step losses; per-epoch losses and validation). */
  private recordCurves(job: JobInfo): void {
    const d = job.detail;
    if (!d) return;
    const prev = this.curves[job.id] ?? { steps: {}, epochs: {} };
    const steps = { ...prev.steps };
    if (d.losses && d.step != null) {
      for (const [k, v] of Object.entries(d.losses)) {
        if (!Number.isFinite(v)) continue;
        const pts = steps[k] ?? [];
        if (!pts.length || pts[pts.length - 1].x < d.step) steps[k] = [...pts, { x: d.step, y: v }];
      }
    }
    const epochs: Record<string, CurvePoint[]> = {};
    for (const h of d.history ?? []) {
      for (const [k, v] of Object.entries({ ...(h.losses ?? {}), ...Object.fromEntries(Object.entries(h.val ?? {}).map(([a, b]) => [`val ${a}`, b])) })) {
        if (v == null || !Number.isFinite(v)) continue;
        (epochs[k] ??= []).push({ x: h.epoch + 1, y: v }); // the trainer counts epochs from 0
      }
    }
    this.curves = { ...this.curves, [job.id]: { steps, epochs: Object.keys(epochs).length ? epochs : prev.epochs } };
  }

  async retrain(): Promise<void> {
    const id = await this.startJob(() => api.invoke('train:start', {}), 'Retrain');
    if (id) {
      this.trainJobId = id;
      this.dialog = 'retrain';
    }
  }

  async resume(runId: string): Promise<void> {
    const id = await this.startJob(() => api.invoke('train:resume', { runId }), `Resume ${runId}`);
    if (id) {
      this.trainJobId = id;
      this.resumable = this.resumable.filter((r) => r.id !== runId);
      this.dialog = 'retrain';
    }
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
