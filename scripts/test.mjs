#!/usr/bin/env node
// `npm test`: the whole check, in the order that fails fastest and keeps the 2 cores fair.
//  1. build the renderer (the packaging and e2e tests load src-renderer/dist),
//  2. typecheck and lint (both must be clean),
//  3. vitest on everything except test/e2e (files in parallel) on the wasm backend,
//  4. the ML, training, evaluation, predict/caption and interop tests again on the native backend
//     (tfjs-node, libtensorflow) when its addon is built (scripts/native-offline.sh); required
//     when PLUMAGE_REQUIRE_NATIVE=1 (CI),
//  5. vitest on test/e2e one file at a time, so the gallery perf test does not compete with
//     training tests for the CPUs,
// then one line per phase naming its backend, one summary line `Tests: N passed, M failed,
// K skipped` summed over all vitest phases, and the fault suite's totals line (scripts/fault-summary.mjs).
// Exits non-zero if any step or test failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { faultSummaryLine, faultTotalsFile, sumFaultTotals } from './fault-summary.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (pkg, file) => join(root, 'node_modules', pkg, file);
const tmp = mkdtempSync(join(tmpdir(), 'plumage-test-'));
const faultFile = faultTotalsFile();
rmSync(faultFile, { force: true }); // the fault tests of this run append their totals afresh

/** Runs node on a package's CLI with inherited output (extra env on top); true when it exits 0. */
function step(title, script, args, env = {}) {
  process.stderr.write(`\n=== ${title}\n`);
  const r = spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (r.error) process.stderr.write(`${title}: ${r.error.message}\n`);
  return r.status === 0;
}

/** One vitest phase on one backend; its counts come from the json reporter's file. */
function vitest(title, backend, args) {
  const out = join(tmp, `${title.replace(/\W+/g, '-')}.json`);
  const started = Date.now();
  const ok = step(
    `${title} (backend ${backend})`,
    bin('vitest', 'vitest.mjs'),
    ['run', ...args, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
    { PLUMAGE_BACKEND: backend },
  );
  const counts = { title, backend, passed: 0, failed: 0, skipped: 0, ok, seconds: 0, failedTests: [] };
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    counts.passed = j.numPassedTests ?? 0;
    counts.failed = j.numFailedTests ?? 0;
    counts.skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    counts.failedTests = failedTestLines(j);
  } else counts.ok = false; // vitest did not get as far as reporting
  counts.seconds = Math.round((Date.now() - started) / 1000);
  return counts;
}

/**
 * `file > test: first line of the error` for each failed test (or file that failed to load), so
 * the end of a long CI log names what failed without scrolling back through every phase.
 */
function failedTestLines(report) {
  const lines = [];
  for (const file of report.testResults ?? []) {
    const name = file.name?.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
    const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failed) lines.push(`${name} > ${a.fullName}: ${firstLine(a.failureMessages?.[0])}`);
    if (!failed.length && file.status === 'failed') lines.push(`${name}: ${firstLine(file.message)}`);
  }
  return lines;
}

function firstLine(text) {
  return String(text ?? '').split('\n').find((l) => l.trim())?.trim().slice(0, 300) ?? '';
}

/**
 * Everything that computes with TF.js, by vitest file filter: these run on wasm with the rest and
 * again on node, because the two backends differ in kernels, numerics and memory handling.
 */
const ML_TESTS = [
  'test/unit/ml-',
  'test/unit/train-',
  'test/integration/demo-small.test.ts',
  'test/integration/extract-encoders.test.ts',
  'test/integration/caption-batch.test.ts',
  'test/integration/insights-',
  'test/integration/report-eval.test.ts',
];

/** True when tfjs-node's addon is built (what backend-probe.ts checks before importing it). */
function nativeBuilt() {
  const lib = join(root, 'node_modules/@tensorflow/tfjs-node/lib');
  return existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
}

const failures = [];
if (!step('build renderer', bin('vite', 'bin/vite.js'), ['build', '--config', 'src-renderer/vite.config.ts']))
  failures.push('renderer build');
// `npm run typecheck` itself (tsc for main/shared/tests, svelte-check for the renderer), so the two never drift.
const npmCli = process.env.npm_execpath ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
if (!step('typecheck', npmCli, ['run', '--silent', 'typecheck'])) failures.push('typecheck');
if (!step('lint', bin('eslint', 'bin/eslint.js'), ['.'])) failures.push('lint');

const phases = [vitest('unit and integration tests', 'wasm', ['--exclude', 'test/e2e/**'])];
if (nativeBuilt()) phases.push(vitest('ML tests', 'node', ML_TESTS));
else {
  process.stderr.write('\nML tests on node: not run, tfjs-node is not built here (bash scripts/native-offline.sh)\n');
  if (process.env.PLUMAGE_REQUIRE_NATIVE === '1') failures.push('native backend (PLUMAGE_REQUIRE_NATIVE=1)');
}
phases.push(vitest('e2e tests', 'wasm', ['test/e2e', '--no-file-parallelism']));
rmSync(tmp, { recursive: true, force: true });

const sum = (k) => phases.reduce((n, p) => n + p[k], 0);
// A file that fails to load counts no failed test but fails its phase.
phases.forEach((p) => {
  if (!p.ok) failures.push(`${p.title} on ${p.backend}`);
});
process.stderr.write('\n');
for (const p of phases)
  process.stderr.write(
    `${p.title} on ${p.backend}: ${p.passed} passed, ${p.failed} failed, ${p.skipped} skipped (${p.seconds} s)\n`,
  );
for (const p of phases)
  for (const line of p.failedTests) process.stderr.write(`  failed on ${p.backend}: ${line}\n`);
if (failures.length) process.stderr.write(`\nfailed: ${failures.join(', ')}\n`);
console.log(`Tests: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
console.log(faultSummaryLine(sumFaultTotals(existsSync(faultFile) ? readFileSync(faultFile, 'utf8') : '')));
process.exit(failures.length || sum('failed') ? 1 : 0);
