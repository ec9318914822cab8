/**
 * The gallery domain: the paged photo list of the current query, its filters and sort, the
 * confusion-cell id filter, the selection, the focused photo, and the grid's geometry and tile size.
 * Moving between the gallery and the photo view goes through here; notices, the current screen and
 * saving a pending caption edit belong to the app shell (`app`), which re-reads this list after
 * edits and jobs through the `PhotoList` the store registers with it.
 */
import { api, errorText } from '../lib/api.ts';
import { PagedImages } from '../lib/pages.ts';
import { clickSelect, emptySelection, selectAll, rangeIndices, type ClickMods, type Selection } from '../lib/selection.ts';
import type { FileStatus, ImagePage, ImageQuery, ImageSummary, ReviewStatus } from '../../../shared/types.ts';
import { app, type PhotoList } from './app.svelte.ts';

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

const PAGE_SIZE = 240;

export const TILE_SIZES = { min: 96, max: 256, standard: 168 } as const;

function readTileSize(): number {
  const v = Number(globalThis.localStorage?.getItem('plumage.tileSize'));
  return v >= TILE_SIZES.min && v <= TILE_SIZES.max ? v : TILE_SIZES.standard;
}

function noFilters(sort: Filters['sort']): Filters {
  return { collectionId: null, classId: null, split: '', provenance: '', reviewStatus: '', fileStatus: '', search: '', sort };
}

/** A query without its paging: what images:ids takes. */
function withoutPaging(q: ImageQuery): Omit<ImageQuery, 'offset' | 'limit'> {
  const rest = { ...q };
  delete rest.offset;
  delete rest.limit;
  return rest;
}

class GalleryStore implements PhotoList {
  /** Index (in the current query) of the focused / opened photo. */
  focusIndex = $state(0);
  /**
   * The photo open in the photo view. The view follows this photo, not its place in the list: an
   * edit that moves it, or takes it out of a filtered list (accepting a photo while the gallery
   * shows "Unreviewed"), keeps it on screen instead of showing whichever photo slid into its place.
   */
  opened = $state.raw<ImageSummary | null>(null);
  /** False while the opened photo is no longer in the list; focusIndex then marks where it was. */
  openedInList = $state(true);
  selection = $state.raw<Selection>(emptySelection());
  filters = $state<Filters>(noFilters('path'));
  /** Bumped whenever the paged list changes, so derived views re-read it. */
  version = $state(0);
  /** Gallery tile side in px (the thumbnail-size slider), remembered between sessions. */
  tileSize = $state(readTileSize());
  /** Gallery scroll offset, kept while the photo view is open. */
  galleryScroll = 0;
  /** Grid geometry reported by the gallery (for keyboard movement). */
  columns = 1;
  pageRows = 4;
  /**
   * Id filter (a confusion-matrix cell's misclassified photos): the gallery shows only these
   * photos, with the toolbar's filters, search and order applied to them, until it is cleared.
   */
  idsFilter = $state.raw<{ ids: number[]; label: string } | null>(null);

  /**
   * The confusion cell chip's count: the photos the grid shows, as "3 of 5" when the toolbar's
   * filters narrow the cell's photos (the cell's own count until its first page has answered).
   */
  get idsCount(): string {
    const cell = this.idsFilter?.ids.length ?? 0;
    if (!this.loaded || this.total === cell) return String(cell);
    return `${this.total} of ${cell}`;
  }

  readonly pages = new PagedImages((q) => this.fetchPage(q), {}, PAGE_SIZE, () => this.version++);

  get total(): number {
    void this.version;
    return this.pages.total;
  }

  /** Whether the first page of the current query has arrived (reactive, unlike pages.ready). */
  get loaded(): boolean {
    void this.version;
    return this.pages.ready;
  }

  /** images:query, narrowed to the id filter's photos while there is one. */
  private async fetchPage(q: ImageQuery): Promise<ImagePage> {
    const f = this.idsFilter;
    return api.invoke('images:query', f ? { ...q, ids: f.ids } : q);
  }

  /**
   * Every id the current query matches, in the gallery's order: one images:ids answer instead of
   * every page of photos. Null when the query changed before the answer came.
   */
  private async matchingIds(): Promise<number[] | null> {
    const q = withoutPaging(this.pages.currentQuery());
    const f = this.idsFilter;
    const { ids } = await api.invoke('images:ids', f ? { ...q, ids: f.ids } : q);
    const same = f === this.idsFilter && JSON.stringify(withoutPaging(this.pages.currentQuery())) === JSON.stringify(q);
    return same ? ids : null;
  }

  /** Where a photo is in the current list: -1 when it is not there, null when that could not be read. */
  private async indexInList(id: number): Promise<number | null> {
    const ids = await this.matchingIds();
    return ids ? ids.indexOf(id) : null;
  }

  /** Shows exactly these photos (the toolbar's filters start empty; they then narrow them further). */
  async showIds(ids: number[], label: string): Promise<void> {
    this.idsFilter = { ids, label };
    this.filters = noFilters(this.filters.sort);
    app.view = 'gallery';
    await this.applyFilters();
  }

  async clearIds(): Promise<void> {
    this.idsFilter = null;
    await this.applyFilters();
  }

  /** Every photo again: no filter, no search, no confusion cell (the order stays). */
  async clearFilters(): Promise<void> {
    const collectionChanged = this.filters.collectionId != null;
    this.idsFilter = null;
    this.filters = noFilters(this.filters.sort);
    if (collectionChanged) await app.loadClasses();
    await this.applyFilters();
  }

  /** Opens one photo by id: its index in the current list, or (not there) in "most disputed" order. */
  async openId(id: number): Promise<void> {
    if (!(await app.flush())) return;
    let i = await this.indexInList(id);
    if (i === null) return;
    if (i < 0) {
      this.idsFilter = null;
      this.filters = noFilters('disagreement');
      await this.applyFilters();
      i = await this.indexInList(id);
      if (i === null) return;
    }
    if (i < 0) return app.say(`photo ${id} is not in the gallery`, true);
    await this.pages.ensureRange(i, i);
    this.show(i);
    app.view = 'photo';
  }

  /** Review queue: the next photo in "most disputed first" order after the open / focused one. */
  async nextDisputed(): Promise<void> {
    const cur = app.view === 'photo' ? this.opened?.id : this.pages.at(this.focusIndex)?.id;
    try {
      const req: { afterId?: number; collectionId?: number } = {};
      if (app.view === 'photo' && cur != null) req.afterId = cur;
      if (this.filters.collectionId != null) req.collectionId = this.filters.collectionId;
      const { imageId } = await api.invoke('images:nextDisputed', req);
      if (imageId == null) return app.say('No more disputed photos (score the collection with a run first)');
      await this.openId(imageId);
    } catch (e) {
      app.say(errorText(e), true);
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

  get collectionId(): number | null {
    return this.filters.collectionId;
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
    if (this.pages.error) app.say(this.pages.error, true);
  }

  /** Re-reads the pages already loaded (after an edit or a job changed photos on screen). */
  async refresh(): Promise<void> {
    const selection = this.selection;
    const anchorId = selection.anchor != null ? this.pages.idAt(selection.anchor) : undefined;
    await this.pages.refresh(this.pages.loadedPages());
    await this.keepSelectionInList(selection, anchorId);
    await this.followOpened();
  }

  /**
   * After the list was re-read: selected photos that no longer match the filters (a bulk
   * "accepted" while the gallery shows "Unreviewed") leave the selection, so the bulk bar never
   * counts, and a later bulk edit never changes, photos that are not on screen. The anchor of a
   * Shift-click follows its photo to its new place.
   */
  private async keepSelectionInList(selection: Selection, anchorId: number | undefined): Promise<void> {
    if (!selection.ids.size || this.pages.error) return;
    let inList = new Set([...this.pages.loadedItems()].map((it) => it.id));
    let indexOf = (id: number) => this.pages.indexOf(id);
    // A selected photo not on the pages read may still be further down the list: ask for the ids of the whole list.
    const pageCount = Math.ceil(this.total / this.pages.pageSize);
    const allRead = Array.from({ length: pageCount }, (_, p) => p).every((p) => this.pages.has(p));
    if (!allRead && [...selection.ids].some((id) => !inList.has(id))) {
      const all = await this.matchingIds().catch(() => null);
      if (!all) return;
      inList = new Set(all);
      indexOf = (id) => all.indexOf(id);
    }
    if (this.selection !== selection) return; // the curator changed the selection meanwhile
    const ids = new Set([...selection.ids].filter((id) => inList.has(id)));
    const anchorAt = anchorId != null && inList.has(anchorId) ? indexOf(anchorId) : -1;
    const anchor = anchorAt >= 0 ? anchorAt : null;
    if (ids.size === selection.ids.size && anchor === selection.anchor) return;
    this.selection = ids.size ? { ids, anchor } : emptySelection();
    const gone = selection.ids.size - ids.size;
    if (gone) app.say(`${gone === 1 ? '1 selected photo no longer matches' : `${gone} selected photos no longer match`} the filters: ${gone === 1 ? 'it left' : 'they left'} the list and the selection`);
  }

  /** After an import: an empty gallery queries again (its total changes), otherwise the first page is re-read in place. */
  async afterImport(): Promise<void> {
    if (this.total === 0) return this.applyFilters();
    await this.pages.refresh([0]);
    await this.followOpened();
  }

  /** Marks a photo as the one the photo view shows (it is in the list, at `index`). */
  private show(index: number): void {
    this.focusIndex = index;
    this.opened = this.pages.at(index) ?? null;
    this.openedInList = true;
  }

  /** After the list was re-read: finds the opened photo's new place, or notes that it left the list. */
  private async followOpened(): Promise<void> {
    const id = this.opened?.id;
    if (app.view !== 'photo' || id == null) return;
    let index: number | null = this.pages.indexOf(id);
    // Not among the pages on screen: it may have moved further (a new sort score after a job).
    if (index < 0 && this.pages.loadedPages().length * this.pages.pageSize < this.total) {
      index = await this.indexInList(id).catch(() => null);
      if (index !== null && index >= 0) await this.pages.ensureRange(index, index);
    }
    if (this.opened?.id !== id || index === null) return; // the curator moved on meanwhile, or the list could not be read
    if (index >= 0 && this.pages.idAt(index) === id) return this.show(index);
    if (index < 0) this.openedInList = false;
  }

  /** Whether ‹ (-1) or › (+1) in the photo view leads to another photo. */
  canStep(delta: number): boolean {
    return this.stepTarget(delta) !== null;
  }

  /**
   * The index ‹ / › lead to. A photo that left the list gave its place to the next one, so from
   * there › shows the photo now at focusIndex and ‹ the one before it. A step past an end stops
   * at that end; none when there is no photo that way.
   */
  private stepTarget(delta: number): number | null {
    if (delta === 0 || this.total === 0) return null;
    const from = this.openedInList ? this.focusIndex : delta > 0 ? this.focusIndex - 1 : this.focusIndex;
    const next = Math.max(0, Math.min(this.total - 1, from + delta));
    return (delta > 0 ? next > from : next < from) ? next : null;
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
      const ids = await this.matchingIds();
      if (ids) this.selection = selectAll(ids);
    } catch (e) {
      app.say(errorText(e), true);
    }
  }

  clearSelection(): void {
    this.selection = emptySelection();
  }

  // ── navigation between the gallery and the photo view ─────────────────────
  async open(index: number): Promise<void> {
    if (index < 0 || index >= this.total) return;
    await this.pages.ensureRange(index, index);
    this.show(index);
    app.view = 'photo';
  }

  /** Back to the gallery, unless a pending caption could not be saved (the photo view keeps it). */
  async back(): Promise<void> {
    if (!(await app.flush())) return;
    this.focusIndex = Math.max(0, Math.min(this.focusIndex, this.total - 1));
    app.view = 'gallery';
  }

  async step(delta: number): Promise<void> {
    if (!(await app.flush())) return;
    const next = this.stepTarget(delta);
    if (next === null) return;
    await this.pages.ensureRange(next, next);
    this.show(next);
  }
}

export const gallery = new GalleryStore();
app.showPhotos(gallery);
