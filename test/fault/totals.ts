import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The fault suite's shared bookkeeping: every fault test appends one JSON line with its totals to
 * the file named by PLUMAGE_FAULT_TOTALS (default test-artifacts/fault-totals.jsonl in the repo
 * root); scripts/fault-summary.mjs sums them into one line after `npm test`.
 */

export interface FaultTotals {
  suite: string;
  cases: number;
  clearErrors: number;
  crashes: number;
  lostEdits: number;
  acceptedInvalid: number;
}

const repoRoot = resolve(import.meta.dirname, '../..');

export function faultTotalsFile(): string {
  return process.env.PLUMAGE_FAULT_TOTALS || resolve(repoRoot, 'test-artifacts/fault-totals.jsonl');
}

export function recordFaultTotals(t: FaultTotals): void {
  const file = faultTotalsFile();
  mkdirSync(dirname(file), { recursive: true });
  const line = {
    suite: t.suite,
    cases: t.cases,
    clearErrors: t.clearErrors,
    crashes: t.crashes,
    lostEdits: t.lostEdits,
    acceptedInvalid: t.acceptedInvalid,
  };
  appendFileSync(file, JSON.stringify(line) + '\n');
}
