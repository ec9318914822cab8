/**
 * CSV cells for every CSV Plumage writes (data export, batch-caption results). RFC 4180 quoting,
 * plus formula neutralisation as OWASP recommends against CSV injection: a text cell that starts
 * with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a formula by a spreadsheet
 * that opens the file, so it gets a leading `'` (shown by spreadsheets as plain text) and is quoted.
 * Numbers are written as numbers.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (FORMULA_START.test(v)) return `"'${v.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One CSV record (no line ending). */
export function csvRow(cells: (string | number | null | undefined)[]): string {
  return cells.map(csvCell).join(',');
}
