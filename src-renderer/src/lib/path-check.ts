/**
 * Feedback under a path field while the person types (browser mode) or after a folder was dropped:
 * the main side's `paths:check` answer in plain words, and what to say when a browser drops a
 * folder without telling the page where it is. Pure except `checkTypedPath`.
 */
import type { PathCheck } from '../../../shared/types.ts';
import { api } from './api.ts';

export type PathExpect = 'folder' | 'file';

export interface PathFeedback {
  text: string;
  /** Whether the path can be used as it is. */
  ok: boolean;
}

export function checkTypedPath(path: string, expect: PathExpect): Promise<PathCheck> {
  return api.invoke('paths:check', { path, expect });
}

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** One sentence for a check's answer. */
export function describePathCheck(c: PathCheck, expect: PathExpect): PathFeedback {
  const what = expect === 'folder' ? 'folder' : 'file';
  switch (c.status) {
    case 'ok':
      if (expect === 'file') return { text: 'File found.', ok: true };
      if (!c.images) return { text: 'Folder found, but there are no photos in it (JPEG, PNG, WebP, TIFF, GIF or AVIF).', ok: false };
      return { text: `Folder found: ${plural(c.images, 'photo', 'photos')}${c.more ? ' or more (still counting when it stopped)' : ''}.`, ok: true };
    case 'relative':
      return { text: `Give the full path of the ${what}, starting with / (for example /home/you/photos).`, ok: false };
    case 'refused':
      return { text: `Plumage will not read this ${what}: ${c.reason ?? 'not allowed'}.`.replace(/\.\.$/, '.'), ok: false };
    case 'missing':
      return { text: `There is no ${what} at this path.`, ok: false };
    case 'not-folder':
      return { text: 'This is a file, not a folder: give the folder that holds the photos.', ok: false };
    case 'not-file':
      return { text: 'This is a folder: give the file itself.', ok: false };
    case 'unreadable':
      return {
        text: `Plumage cannot read this ${what}${c.reason === 'EACCES' || c.reason === 'EPERM' ? ': permission denied' : c.reason ? ` (${c.reason})` : ''}.`,
        ok: false,
      };
  }
}

/** Browsers give a dropped folder's name, never its place on disk. */
export function browserDropText(name: string): string {
  return `Your browser does not tell Plumage where “${name}” is on disk, so it cannot be dropped here: type or paste its full path instead.`;
}

/** Calls `fn` once typing has paused for `ms`; `cancel` drops a pending call. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): ((...args: A) => void) & { cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const call = (...args: A) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  call.cancel = () => clearTimeout(timer);
  return call;
}
