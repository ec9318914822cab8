import { describe, expect, it, vi } from 'vitest';
import { browserDropText, debounce, describePathCheck } from '../../src-renderer/src/lib/path-check.ts';
import type { PathCheck } from '../../shared/types.ts';

/** The sentences under a path field, and the pause before a check is asked. */

const check = (status: PathCheck['status'], extra: Partial<PathCheck> = {}): PathCheck => ({ status, images: null, more: false, reason: null, ...extra });

describe('describePathCheck', () => {
  it('a folder with photos is usable and says how many', () => {
    expect(describePathCheck(check('ok', { images: 1 }), 'folder')).toEqual({ text: 'Folder found: 1 photo.', ok: true });
    expect(describePathCheck(check('ok', { images: 12345, more: true }), 'folder')).toEqual({
      text: 'Folder found: 12,345 photos or more (still counting when it stopped).',
      ok: true,
    });
    expect(describePathCheck(check('ok'), 'file')).toEqual({ text: 'File found.', ok: true });
  });

  it('everything else is not usable, in plain words without codes of its own', () => {
    expect(describePathCheck(check('ok', { images: 0 }), 'folder').ok).toBe(false);
    expect(describePathCheck(check('missing'), 'file').text).toBe('There is no file at this path.');
    expect(describePathCheck(check('refused', { reason: 'that is a system folder' }), 'folder').text).toBe(
      'Plumage will not read this folder: that is a system folder.',
    );
    expect(describePathCheck(check('unreadable', { reason: 'EACCES' }), 'folder').text).toBe('Plumage cannot read this folder: permission denied.');
    for (const s of ['relative', 'refused', 'missing', 'not-folder', 'not-file', 'unreadable'] as const)
      expect(describePathCheck(check(s), 'folder').ok).toBe(false);
  });

  it('a browser drop names the folder and says what to do instead', () => {
    expect(browserDropText('field-trip')).toMatch(/“field-trip”.*type or paste its full path/);
  });
});

describe('debounce', () => {
  it('calls once, with the last arguments, after the pause; cancel drops the call', () => {
    vi.useFakeTimers();
    try {
      const fn = vi.fn();
      const d = debounce(fn, 300);
      d('/a');
      d('/ab');
      vi.advanceTimersByTime(299);
      expect(fn).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(fn).toHaveBeenCalledExactlyOnceWith('/ab');
      d('/abc');
      d.cancel();
      vi.advanceTimersByTime(1000);
      expect(fn).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
