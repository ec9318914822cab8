/**
 * The photo domain: one photo's detail, its captions, its Grad-CAM heat maps and its painted mask.
 * The photo view and its editors keep what is on screen (the draft caption, the brush, the layer
 * shown); every read and write of the photo's data goes through these methods, which throw an
 * ApiError the caller shows where it happened.
 */
import type { CamsView, ImageDetail, MaskData, WordCamView } from '../../../shared/types.ts';
import { api } from '../lib/api.ts';
import { app } from './app.svelte.ts';
import { gallery } from './gallery.svelte.ts';

class PhotoStore {
  detail(id: number): Promise<ImageDetail> {
    return api.invoke('images:get', { id });
  }

  /** Saves a caption (a new one without captionId); the gallery tiles re-read their caption. */
  async saveCaption(image: ImageDetail, captionId: number | undefined, text: string): Promise<ImageDetail> {
    const next = await api.invoke('captions:save', { imageId: image.id, captionId, text });
    app.recordEdit(`caption of ${image.fileName}`);
    app.say('Caption saved');
    void gallery.refresh();
    return next;
  }

  /** The CAMs of a photo by the run whose predictions the gallery shows. */
  cams(imageId: number): Promise<CamsView> {
    return api.invoke('cams:get', { imageId });
  }

  /** The CAM of one word of the model's caption. */
  wordCam(imageId: number, wordIndex: number): Promise<WordCamView> {
    return api.invoke('cams:word', { imageId, wordIndex });
  }

  mask(imageId: number): Promise<MaskData | null> {
    return api.invoke('masks:get', { imageId });
  }

  /** Saves a painted mask (undoable like any edit). */
  async saveMask(imageId: number, width: number, height: number, png: string, message: string): Promise<MaskData> {
    const m = await api.invoke('masks:save', { imageId, width, height, png });
    app.recordEdit('painted mask');
    app.say(message);
    return m;
  }

  async clearMask(imageId: number): Promise<void> {
    await api.invoke('masks:clear', { imageId });
    app.recordEdit('clearing the mask');
    app.say('Mask cleared');
  }
}

export const photo = new PhotoStore();
