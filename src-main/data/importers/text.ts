import { captionLengthProblem } from '../text-limits.ts';

/**
 * Text helpers shared by the importers: caption cleaning and line-oriented metadata files with
 * line numbers for error reports.
 */

// C0/C1 control characters except tab/newline (handled as whitespace), the Unicode replacement
// character (the Reed files have `this\ufffd\ufffdbird`), zero-width characters and the BOM.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const JUNK = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffd\u200b-\u200d\u2060\ufeff]/g;

/** One caption line → clean text: junk characters removed, whitespace collapsed, trimmed. */
export function cleanCaption(line: string): string {
  return line.normalize('NFC').replace(JUNK, '').replace(/\s+/g, ' ').trim();
}

/** A caption line that was refused, with its 1-based line number. */
export interface RefusedLine {
  line: number;
  reason: string;
}

export type CaptionFileResult =
  | { ok: true; captions: string[]; refused: RefusedLine[] }
  | { ok: false; reason: string };

/**
 * Decodes a caption file (one caption per line, raw or tokenized). Lines that are empty after
 * cleaning, or hold no letter or digit, are skipped. A file that is mostly not text (NUL bytes, or
 * a high share of invalid UTF-8 / control characters) is rejected as a whole: better no captions
 * than garbage ones.
 */
export function parseCaptionFile(bytes: Uint8Array): CaptionFileResult {
  if (bytes.length === 0) return { ok: true, captions: [], refused: [] };
  if (bytes.includes(0))
    return { ok: false, reason: 'caption file is binary (contains NUL bytes); captions skipped' };
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const junk = (text.match(JUNK) ?? []).length;
  if (junk > 8 && junk / text.length > 0.1) {
    return {
      ok: false,
      reason: `caption file is not text (${junk} invalid or control characters); captions skipped`,
    };
  }
  const captions: string[] = [];
  const refused: RefusedLine[] = [];
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const line = cleanCaption(raw);
    if (!/[\p{L}\p{N}]/u.test(line)) return;
    const problem = captionLengthProblem(line);
    if (problem) refused.push({ line: i + 1, reason: problem });
    else captions.push(line);
  });
  return { ok: true, captions, refused };
}

/** A non-empty, non-comment line of a metadata file with its 1-based line number. */
export interface NumberedLine {
  line: number;
  fields: string[];
  raw: string;
}

/** Splits a whitespace-separated metadata file into lines; blank lines and '#' comments are skipped. */
export function metadataLines(text: string): NumberedLine[] {
  const out: NumberedLine[] = [];
  const lines = text.replace(/^\ufeff/, '').split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (!raw || raw.startsWith('#')) continue;
    out.push({ line: i + 1, fields: raw.split(/\s+/), raw });
  }
  return out;
}

/** Shortens a line for an error message. */
export function excerpt(s: string, n = 60): string {
  const clean = s.replace(JUNK, '?');
  return clean.length > n ? clean.slice(0, n) + '…' : clean;
}

/**
 * Decodes a metadata file: UTF-8 (the datasets' encoding), or UTF-16 when the file says so with a
 * byte-order mark or looks like it (every other byte NUL, as Windows Notepad writes ASCII), so a
 * re-saved images.txt is read correctly instead of producing one garbled error per line.
 */
export function decodeMetadata(bytes: Buffer): { text: string; encoding: 'utf-8' | 'utf-16le' | 'utf-16be' } {
  const le = bytes[0] === 0xff && bytes[1] === 0xfe;
  const be = bytes[0] === 0xfe && bytes[1] === 0xff;
  const sample = bytes.subarray(0, 400);
  let oddNul = 0;
  let evenNul = 0;
  for (let i = 0; i < sample.length; i++) {
    if (sample[i] !== 0) continue;
    if (i % 2) oddNul++;
    else evenNul++;
  }
  const half = sample.length / 2;
  if (le || (!be && sample.length >= 4 && oddNul > 0.9 * half && evenNul === 0))
    return { text: new TextDecoder('utf-16le').decode(bytes), encoding: 'utf-16le' };
  if (be || (sample.length >= 4 && evenNul > 0.9 * half && oddNul === 0))
    return { text: new TextDecoder('utf-16be').decode(bytes), encoding: 'utf-16be' };
  return { text: bytes.toString('utf8'), encoding: 'utf-8' };
}
