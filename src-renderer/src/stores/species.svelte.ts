/**
 * The Species manager's calls: read a collection's species, and add, rename or merge one. Each edit
 * is one undoable action on the main side; here it is also named for the Undo tooltip and a toast,
 * and the gallery re-reads its photos and species (names and counts change).
 */
import { api, errorText } from '../lib/api.ts';
import type { ClassInfo } from '../../../shared/types.ts';
import { app } from './app.svelte.ts';
import { gallery } from './gallery.svelte.ts';

const photos = (n: number) => `${n} photo${n === 1 ? '' : 's'}`;

async function recorded<T>(call: Promise<T>, describe: (r: T) => string): Promise<T> {
  const r = await call;
  const what = describe(r);
  app.recordEdit(what);
  await app.afterEdit([], what);
  return r;
}

export const speciesManager = {
  /** A species typed in the photo's picker that does not exist yet: add it and label the photos with it, one undo step. */
  async createAndLabel(collectionId: number, name: string, imageIds: number[]): Promise<void> {
    try {
      await recorded(
        api.invoke('species:create', { collectionId, name, imageIds }),
        () => `Added the species ${name} and set it on ${photos(imageIds.length)}`,
      );
    } catch (e) {
      app.say(errorText(e), true);
    }
  },
  list(collectionId: number): Promise<ClassInfo[]> {
    return api.invoke('classes:list', { collectionId });
  },
  create(collectionId: number, name: string): Promise<ClassInfo> {
    return recorded(api.invoke('species:create', { collectionId, name }), () => `Added the species ${name}`);
  },
  rename(classId: number, from: string, name: string): Promise<ClassInfo> {
    return recorded(api.invoke('species:rename', { classId, name }), () => `Renamed ${from} to ${name}`);
  },
  async merge(
    fromId: number,
    intoId: number,
    fromName: string,
    intoName: string,
  ): Promise<{ moved: number }> {
    const r = await recorded(
      api.invoke('species:merge', { fromId, intoId }),
      (r) => `Merged ${fromName} into ${intoName} (${photos(r.moved)} moved)`,
    );
    // A gallery filtered on the merged species follows its photos.
    if (gallery.filters.classId === fromId) {
      gallery.filters.classId = intoId;
      await gallery.applyFilters();
    }
    return r;
  },
};
