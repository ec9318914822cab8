import type { FileStatus } from '../../../shared/types.ts';

/** The gallery badge of a photo whose file is no longer the one imported. */
export const FILE_BADGE: Record<Exclude<FileStatus, 'ok'>, string> = {
  changed: 'Changed on disk',
  missing: 'Missing on disk',
};

/** What the photo view says about it, and what to do. */
export const FILE_NOTE: Record<Exclude<FileStatus, 'ok'>, string> = {
  changed:
    'The file of this photo was replaced or damaged since it was imported, so it is not shown. Its species and captions describe the photo as imported. Put the original file back, or import the folder again to take the new file.',
  missing:
    'The file of this photo is no longer on disk (moved, renamed or deleted). Its species and captions are kept. Put the file back, or import the folder again.',
};
