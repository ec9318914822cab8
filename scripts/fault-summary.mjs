#!/usr/bin/env node
// Sums the fault suite's totals (one JSON line per fault test, written by test/fault/totals.ts to
// PLUMAGE_FAULT_TOTALS, default test-artifacts/fault-totals.jsonl) into one line:
// `Fault suite: C cases, E clear errors, X crashes, L lost edits, A accepted invalid requests`.
// Usage: node scripts/fault-summary.mjs [FILE]. Lines that are not valid totals are skipped.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KEYS = ['cases', 'clearErrors', 'crashes', 'lostEdits', 'acceptedInvalid'];

export function faultTotalsFile() {
  return process.env.PLUMAGE_FAULT_TOTALS || resolve(root, 'test-artifacts/fault-totals.jsonl');
}

export function sumFaultTotals(text) {
  const sum = Object.fromEntries(KEYS.map((k) => [k, 0]));
  for (const line of text.split('\n')) {
    let t;
    try {
      t = JSON.parse(line);
    } catch {
      continue;
    }
    if (!t || typeof t !== 'object' || !KEYS.every((k) => Number.isFinite(t[k]))) continue;
    for (const k of KEYS) sum[k] += t[k];
  }
  return sum;
}

export function faultSummaryLine(sum) {
  return (
    `Fault suite: ${sum.cases} cases, ${sum.clearErrors} clear errors, ${sum.crashes} crashes, ` +
    `${sum.lostEdits} lost edits, ${sum.acceptedInvalid} accepted invalid requests`
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ? resolve(process.argv[2]) : faultTotalsFile();
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  console.log(faultSummaryLine(sumFaultTotals(text)));
}
