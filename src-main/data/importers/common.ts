import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { ImportError, ImportOptions, ImportPlan, ImporterKind } from './types.ts';
import { decodeMetadata, metadataLines, type NumberedLine } from './text.ts';
import { notFound } from '../../util/errors.ts';

/** Most errors reported per metadata file; the rest are summarised in one line. */
export const MAX_LINE_ERRORS = 20;

/** Collects per-file line errors with a cap, so a broken 176k-line file does not flood the report. */
export class LineErrors {
  private counts = new Map<string, number>();
  constructor(private out: ImportError[]) {}
  add(file: string, line: number, reason: string) {
    const n = (this.counts.get(file) ?? 0) + 1;
    this.counts.set(file, n);
    if (n <= MAX_LINE_ERRORS) this.out.push({ path: `${file}:${line}`, reason });
  }
  finish() {
    for (const [file, n] of this.counts) {
      if (n > MAX_LINE_ERRORS)
        this.out.push({ path: file, reason: `${n - MAX_LINE_ERRORS} more bad lines (${n} in all)` });
    }
  }
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Reads a metadata text file if present; unreadable files become an error and yield null. */
export function readLines(path: string, errors: ImportError[], required: boolean): NumberedLine[] | null {
  if (!existsSync(path)) {
    if (required) errors.push({ path, reason: 'required metadata file not found' });
    return null;
  }
  try {
    const { text, encoding } = decodeMetadata(readFileSync(path));
    if (encoding !== 'utf-8')
      errors.push({ path, reason: `file is ${encoding.toUpperCase()} text, not UTF-8: read as ${encoding.toUpperCase()} (save it as UTF-8)` });
    return metadataLines(text);
  } catch (e) {
    errors.push({
      path,
      reason: `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    });
    return null;
  }
}

/** '/'-separated path of p relative to root (the images.rel_path form). */
export function relPosix(root: string, p: string): string {
  return relative(root, p).split(sep).join('/');
}

/** First existing folder among candidates (resolved), or null. */
export function firstDir(candidates: (string | undefined)[]): string | null {
  for (const c of candidates) if (c && isDir(c)) return resolve(c);
  return null;
}

export function defaultName(root: string): string {
  return basename(resolve(root)) || root;
}

/** The absolute path of a folder the user named; a one-line error if it is not a folder. */
export function requireFolder(path: string): string {
  const root = resolve(path);
  if (!isDir(root)) throw notFound(`not a folder: ${path}`);
  return root;
}

/**
 * The empty plan every importer starts from. The collection is named by the user, else after
 * `nameFrom` (by default the root).
 */
export function emptyPlan(
  kind: ImporterKind,
  root: string,
  opts: ImportOptions,
  { nameFrom = root, missingInErrors = false }: { nameFrom?: string; missingInErrors?: boolean } = {},
): ImportPlan {
  return {
    kind,
    root,
    name: opts.name || defaultName(nameFrom),
    classes: new Map(),
    items: [],
    errors: [],
    missingInErrors,
  };
}

export { join };
