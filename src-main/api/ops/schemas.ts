import { z } from 'zod';
import { MAX_CAPTION_CHARS } from '../../data/text-limits.ts';

/**
 * The building blocks of every request schema (the api channels in ../schemas.ts and the
 * operations here). Strings and arrays are bounded so no request can make Plumage allocate
 * without limit; requests' TypeScript types are `z.infer` of these schemas.
 */
export const LIMITS = {
  text: MAX_CAPTION_CHARS,
  path: 4_096,
  search: 500,
  name: 200,
  /** Bulk edits: a whole large gallery selected with Ctrl-A. */
  ids: 100_000,
  page: 500,
  maskSide: 4096,
  maskBytes: 2 * 1024 * 1024,
} as const;

export const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const variant = z.enum(['cnn', 'lrcn', 'medi', 'cam']);
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
export const noControl = (s: string) => !CONTROL.test(s);
export const runId = z.string().min(1).max(LIMITS.name).refine(noControl, 'control character in id');
/** Caption text: what the importers would keep (no NUL or other control characters), within the limit. */
export const captionText = z.string().trim().min(1).max(LIMITS.text).refine(noControl, 'control character in text');
export const name = z.string().min(1).max(LIMITS.name);
export const path = z
  .string()
  .min(1)
  .max(LIMITS.path)
  .refine((s) => !s.includes('\u0000'), 'NUL byte in path');
export const positiveInt = (max: number) => z.number().int().min(1).max(max);
export const epochs = positiveInt(10_000);
