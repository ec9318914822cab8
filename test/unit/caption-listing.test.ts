/**
 * The folder listing of `plumage caption`: one bad entry (a symbolic link loop, a broken link,
 * an unreadable sub-folder) is listed with its reason and never stops the rest of the folder.
 * Permission errors are simulated (the tests may run as root, which reads every folder).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const denied = (p: unknown) => String(p).endsWith('locked');
  return {
    ...fs,
    readdirSync: ((p: string, ...rest: unknown[]) => {
      if (denied(p)) throw Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES' });
      return (fs.readdirSync as (...a: unknown[]) => unknown)(p, ...rest);
    }) as typeof fs.readdirSync,
  };
});

const { listFiles } = await import('../../src-main/jobs/caption.ts');

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function folder(): string {
  const root = mkdtempSync(join(tmpdir(), 'plumage-list-'));
  dirs.push(root);
  mkdirSync(join(root, 'day1', 'nested'), { recursive: true });
  mkdirSync(join(root, 'locked'));
  writeFileSync(join(root, 'a.jpg'), 'x');
  writeFileSync(join(root, 'day1', 'b.jpg'), 'x');
  writeFileSync(join(root, 'day1', 'nested', 'c.png'), 'x');
  writeFileSync(join(root, 'locked', 'd.jpg'), 'x');
  writeFileSync(join(root, 'notes.txt'), 'not listed: a text file');
  symlinkSync('self', join(root, 'self')); // a link to itself: ELOOP
  symlinkSync('..', join(root, 'day1', 'up')); // a link back to the root: walked once only
  symlinkSync('missing.jpg', join(root, 'gone.jpg')); // a broken link
  return root;
}

describe('caption folder listing', () => {
  it('lists every readable photo and each bad entry with its reason', () => {
    const { files, errors } = listFiles(folder());
    expect(files).toEqual(['a.jpg', 'day1/b.jpg', 'day1/nested/c.png']);
    expect(errors).toEqual([
      { path: 'day1/up', reason: 'symbolic link loop (a folder already listed)' },
      { path: 'gone.jpg', reason: 'broken symbolic link (target does not exist)' },
      { path: 'locked', reason: 'folder unreadable: permission denied (EACCES)' },
      { path: 'self', reason: 'symbolic link loop (ELOOP)' },
    ]);
  });

  it('fails with one line only when the folder itself cannot be read', () => {
    const root = folder();
    expect(() => listFiles(join(root, 'locked'))).toThrow(/^cannot read folder .*locked: folder unreadable: permission denied \(EACCES\)$/);
  });
});
