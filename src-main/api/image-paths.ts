import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';

/**
 * Path safety for the image routes of browser mode (`/image`, `/thumb`, `/file`) and of the
 * Electron `plumage-image://` protocol: a file is served only if it lies inside the realpath of
 * a registered collection root. Everything suspicious is refused rather than normalised.
 */

/** Why a path was refused (for logs and tests; the client only sees 404). */
export type PathRefusal = 'malformed' | 'absolute' | 'traversal' | 'outside-root' | 'missing';

export type SafePath = { ok: true; path: string } | { ok: false; reason: PathRefusal };

/**
 * Decodes the raw URL path segments that follow a route prefix exactly once. Fails on malformed
 * escapes, and on anything that still looks percent-encoded after decoding (double encoding
 * such as %252e%252e%252f is an attack, not a file name).
 */
export function decodeUrlPath(raw: string): string | null {
  let decoded: string;
  try {
    decoded = raw
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    return null;
  }
  if (/%[0-9a-f]{2}/i.test(decoded)) return null;
  return decoded;
}

/** Checks a relative path lexically: '/'-separated, no NUL, backslash, drive, '.' or '..' segment. */
export function checkRelPath(rel: string): PathRefusal | null {
  if (typeof rel !== 'string' || rel.length === 0 || rel.length > 4096) return 'malformed';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\\]/.test(rel)) return 'malformed';
  if (rel.startsWith('/') || isAbsolute(rel) || /^[a-zA-Z]:/.test(rel)) return 'absolute';
  for (const seg of rel.split('/')) if (seg === '..' || seg === '.' || seg === '') return 'traversal';
  return null;
}

/**
 * Resolves `rel` inside `root` and returns the real path of the file, or why it is refused.
 * Symlinks are followed and the result must still be inside realpath(root).
 */
export function resolveInsideRoot(root: string, rel: string): SafePath {
  const lexical = checkRelPath(rel);
  if (lexical) return { ok: false, reason: lexical };
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(resolve(realRoot, rel));
  } catch {
    return { ok: false, reason: 'missing' };
  }
  if (!real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return { ok: false, reason: 'outside-root' };
  try {
    if (!statSync(real).isFile()) return { ok: false, reason: 'missing' };
  } catch {
    return { ok: false, reason: 'missing' };
  }
  return { ok: true, path: real };
}
