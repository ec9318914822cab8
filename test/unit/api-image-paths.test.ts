import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRelPath, decodeUrlPath, resolveInsideRoot } from '../../src-main/api/image-paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'plumage-paths-'));
const root = join(dir, 'root');
mkdirSync(join(root, 'sub'), { recursive: true });
writeFileSync(join(root, 'sub', 'ok.jpg'), 'ok');
writeFileSync(join(dir, 'secret.txt'), 'secret');
symlinkSync(join(dir, 'secret.txt'), join(root, 'escape.jpg'));
symlinkSync(join(root, 'sub', 'ok.jpg'), join(root, 'inside-link.jpg'));
// A sibling whose name starts with the root's name must not count as inside.
mkdirSync(join(dir, 'root-evil'));
writeFileSync(join(dir, 'root-evil', 'x.jpg'), 'x');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('image path safety', () => {
  it('accepts files inside the root, including symlinks that stay inside', () => {
    expect(resolveInsideRoot(root, 'sub/ok.jpg')).toEqual({ ok: true, path: join(root, 'sub', 'ok.jpg') });
    expect(resolveInsideRoot(root, 'inside-link.jpg')).toEqual({ ok: true, path: join(root, 'sub', 'ok.jpg') });
  });

  const refused: [string, string][] = [
    ['../secret.txt', 'traversal'],
    ['sub/../../secret.txt', 'traversal'],
    ['sub/./ok.jpg', 'traversal'],
    ['sub//ok.jpg', 'traversal'],
    ['/etc/passwd', 'absolute'],
    [join(dir, 'secret.txt'), 'absolute'],
    ['C:/Windows/win.ini', 'absolute'],
    ['..\\secret.txt', 'malformed'],
    ['sub\\ok.jpg', 'malformed'],
    ['sub/ok.jpg\u0000.png', 'malformed'],
    ['', 'malformed'],
    ['escape.jpg', 'outside-root'],
    ['../root-evil/x.jpg', 'traversal'],
    ['sub/missing.jpg', 'missing'],
    ['sub', 'missing'], // a folder is not a file
  ];
  for (const [rel, reason] of refused) {
    it(`refuses ${JSON.stringify(rel)} (${reason})`, () => {
      expect(resolveInsideRoot(root, rel)).toEqual({ ok: false, reason });
    });
  }

  it('decodes URL paths exactly once and refuses what stays encoded', () => {
    expect(decodeUrlPath('sub/ok.jpg')).toBe('sub/ok.jpg');
    expect(decodeUrlPath('sub/a%20b.jpg')).toBe('sub/a b.jpg');
    expect(decodeUrlPath('%2e%2e%2fsecret.txt')).toBe('../secret.txt');
    expect(checkRelPath(decodeUrlPath('%2e%2e%2fsecret.txt')!)).toBe('traversal');
    expect(checkRelPath(decodeUrlPath('%2e%2e%5csecret.txt')!)).toBe('malformed');
    expect(checkRelPath(decodeUrlPath('%2Fetc%2Fpasswd')!)).toBe('absolute');
    expect(checkRelPath(decodeUrlPath('ok.jpg%00')!)).toBe('malformed');
    expect(decodeUrlPath('%252e%252e%252fsecret.txt')).toBeNull();
    expect(decodeUrlPath('%25252e')).toBeNull();
    expect(decodeUrlPath('%E0%A4%A')).toBeNull(); // malformed escape
    expect(decodeUrlPath('%c0%ae%c0%ae/x')).toBeNull(); // overlong UTF-8 is malformed
  });
});
