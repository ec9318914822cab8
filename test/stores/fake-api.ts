/**
 * A fake main side for the renderer stores' unit tests: each invoke channel answers from a handler
 * the test sets (an unanswered channel fails as the real api would fail), every call is logged,
 * and pushes can be sent to the store's listeners. The stores import `api` from lib/api.ts; a test
 * file makes one FakeApi in `vi.hoisted` and has `vi.mock` put it in place of that export (the rest
 * of lib/api.ts, e.g. errorText, stays real), so the same fake serves the fresh stores of each test.
 */
import { ApiError, type Api, type InvokeChannel, type PushChannels, type Req, type Res } from '../../shared/ipc.ts';
import type { ImagePage, ImageQuery, ImageSummary } from '../../shared/types.ts';
import type { PhotoList } from '../../src-renderer/src/stores/app.svelte.ts';

type Handler = (req: never) => unknown;

export class FakeApi implements Api {
  readonly calls: { channel: InvokeChannel; req: unknown }[] = [];
  private readonly handlers = new Map<InvokeChannel, Handler>();
  private readonly listeners = new Map<string, Set<(msg: unknown) => void>>();

  /** Sets how a channel answers; a handler that throws makes the invoke fail with that error. */
  answer<C extends InvokeChannel>(channel: C, handler: (req: Req<C>) => Res<C> | Promise<Res<C>>): void {
    this.handlers.set(channel, handler as Handler);
  }

  invoke<C extends InvokeChannel>(channel: C, req: Req<C>): Promise<Res<C>> {
    this.calls.push({ channel, req });
    const handler = this.handlers.get(channel) ?? (channel === 'images:ids' ? this.idsOfQuery() : undefined);
    if (!handler) return Promise.reject(new ApiError(`the fake api has no answer for ${channel}`, 'internal'));
    return Promise.resolve().then(() => handler(req as never) as Res<C>);
  }

  /**
   * images:ids where a test sets none: the ids images:query answers for the same query, all of
   * them in its order, as the main side answers both from one query (that call is not logged).
   */
  private idsOfQuery(): Handler | undefined {
    const pages = this.handlers.get('images:query') as ((q: ImageQuery) => ImagePage | Promise<ImagePage>) | undefined;
    if (!pages) return undefined;
    return (async (q: ImageQuery) => ({ ids: (await pages({ ...q, offset: 0, limit: Number.MAX_SAFE_INTEGER })).items.map((it) => it.id) })) as Handler;
  }

  send(): void {}

  on<C extends keyof PushChannels>(channel: C, listener: (msg: PushChannels[C]) => void): () => void {
    const set = this.listeners.get(channel) ?? new Set();
    set.add(listener as (msg: unknown) => void);
    this.listeners.set(channel, set);
    return () => set.delete(listener as (msg: unknown) => void);
  }

  /** Delivers a push to every listener of its channel, as the main side would. */
  push<C extends keyof PushChannels>(channel: C, msg: PushChannels[C]): void {
    for (const l of this.listeners.get(channel) ?? []) l(msg);
  }

  /** Forgets the answers, the calls and the listeners (between tests). */
  reset(): void {
    this.calls.length = 0;
    this.handlers.clear();
    this.listeners.clear();
  }

  /** The requests sent on one channel, in order. */
  requests<C extends InvokeChannel>(channel: C): Req<C>[] {
    return this.calls.filter((c) => c.channel === channel).map((c) => c.req as Req<C>);
  }
}


/** A gallery tile for photo `id` (collection 1, unlabelled). */
export function photo(id: number): ImageSummary {
  return {
    id,
    collectionId: 1,
    fileName: `img${id}.jpg`,
    relPath: `a/img${id}.jpg`,
    width: 64,
    height: 48,
    classId: null,
    className: null,
    labelProvenance: null,
    split: null,
    reviewStatus: 'unreviewed',
    fileStatus: 'ok',
    caption: null,
    disagreement: null,
  };
}

/** images:query over a fixed list of photo ids, paged by offset/limit as the main side pages. */
export function pagedIds(ids: number[]): (q: ImageQuery) => ImagePage {
  return (q) => {
    const offset = q.offset ?? 0;
    // `ids` narrows the list to those photos, in the list's own order.
    const shown = q.ids ? ids.filter((id) => q.ids!.includes(id)) : ids;
    return { total: shown.length, offset, items: shown.slice(offset, offset + (q.limit ?? 200)).map(photo) };
  };
}

/** A photo list for the shell that only records what it was asked (`app.showPhotos(list)`). */
export function recordingPhotoList(collectionId: number | null = null): { list: PhotoList; calls: string[] } {
  const calls: string[] = [];
  const called = (what: string) => async () => void calls.push(what);
  return { list: { collectionId, applyFilters: called('applyFilters'), refresh: called('refresh'), afterImport: called('afterImport') }, calls };
}

/** A promise the test resolves when it chooses: an answer that arrives late, after a newer request's. */
export function later<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
