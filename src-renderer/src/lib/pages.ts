/**
 * Lazily fetched, paged view of one gallery query (images:query with offset/limit). Pages are
 * requested as the grid scrolls to them; a query change starts a new generation so late answers
 * for the old query are dropped instead of painting the wrong photos.
 */
import type { ImagePage, ImageQuery, ImageSummary } from '../../../shared/types.ts';

export type FetchPage = (q: ImageQuery) => Promise<ImagePage>;

export class PagedImages {
  total = 0;
  /** True once the first page of the current query has answered. */
  ready = false;
  error: string | null = null;
  private pages = new Map<number, ImageSummary[]>();
  private inflight = new Map<number, Promise<void>>();
  private generation = 0;

  constructor(
    private readonly fetchPage: FetchPage,
    private query: ImageQuery = {},
    readonly pageSize = 200,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Replaces the query (filters, search) and loads its first page. */
  async setQuery(query: ImageQuery): Promise<void> {
    this.query = { ...query };
    this.generation++;
    this.pages.clear();
    this.inflight.clear();
    this.ready = false;
    this.total = 0;
    this.error = null;
    this.onChange();
    await this.ensure([0]);
  }

  currentQuery(): ImageQuery {
    return { ...this.query };
  }

  /**
   * Re-reads the given pages (after an edit or undo) and then swaps them in at once: the old
   * tiles stay on screen until the new ones arrive, so an edit never makes the view flicker.
   */
  async refresh(keep: number[] = [0]): Promise<void> {
    const gen = ++this.generation;
    this.inflight.clear();
    const pages = keep.length ? keep : [0];
    try {
      const results = await Promise.all(
        pages.map((p) => this.fetchPage({ ...this.query, offset: p * this.pageSize, limit: this.pageSize })),
      );
      if (gen !== this.generation) return;
      this.pages = new Map(pages.map((p, i) => [p, results[i].items]));
      this.total = results[0]?.total ?? this.total;
      this.ready = true;
      this.error = null;
    } catch (err) {
      if (gen !== this.generation) return;
      this.error = err instanceof Error ? err.message : String(err);
    }
    this.onChange();
  }

  at(index: number): ImageSummary | undefined {
    return this.pages.get(Math.floor(index / this.pageSize))?.[index % this.pageSize];
  }

  idAt = (index: number): number | undefined => this.at(index)?.id;

  indexOf(id: number): number {
    for (const [p, items] of this.pages) {
      const i = items.findIndex((x) => x.id === id);
      if (i >= 0) return p * this.pageSize + i;
    }
    return -1;
  }

  loadedPages(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** Every item currently cached, in no particular order. */
  *loadedItems(): Iterable<ImageSummary> {
    for (const items of this.pages.values()) yield* items;
  }

  has(page: number): boolean {
    return this.pages.has(page);
  }

  /** Loads the given pages (those not cached or already loading). */
  async ensure(pages: number[]): Promise<void> {
    const gen = this.generation;
    const waits: Promise<void>[] = [];
    for (const p of pages) {
      if (p < 0 || this.pages.has(p)) continue;
      if (this.ready && p * this.pageSize >= this.total) continue;
      let w = this.inflight.get(p);
      if (!w) {
        w = this.fetchPage({ ...this.query, offset: p * this.pageSize, limit: this.pageSize }).then(
          (res) => {
            if (gen !== this.generation) return;
            this.pages.set(p, res.items);
            this.total = res.total;
            this.ready = true;
            this.inflight.delete(p);
            this.onChange();
          },
          (err: unknown) => {
            if (gen !== this.generation) return;
            this.inflight.delete(p);
            this.error = err instanceof Error ? err.message : String(err);
            this.ready = true;
            this.onChange();
          },
        );
        this.inflight.set(p, w);
      }
      waits.push(w);
    }
    await Promise.all(waits);
  }

  /** Loads every page covering indices [a, b]. */
  async ensureRange(a: number, b: number): Promise<void> {
    const ps: number[] = [];
    for (let p = Math.floor(a / this.pageSize); p <= Math.floor(b / this.pageSize); p++) ps.push(p);
    await this.ensure(ps);
  }
}
