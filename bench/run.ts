/**
 * `npm run bench`: runs every hot-path benchmark in bench/*.ts (each a script that prints one
 * machine-readable JSON line per measurement, `{"bench": …}`) in its own process, one after
 * another so they do not compete for the two cores. Positional arguments pick benchmarks by name
 * prefix; options (e.g. --quick, --batch 32; bench/lib/args.ts knows them all) are passed on.
 *
 * `--backends node,wasm`: each benchmark runs once per backend (a child process with
 * PLUMAGE_BACKEND set), interleaved so that both see the same machine load, and a
 * `{"bench":"backend_ratio",…}` line per measurement compares the first backend with each other one
 * (`speedup` > 1: the first is faster). Without it, the process's own backend is used. Every line
 * names its backend.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchArgs, parseBenchArgs, selectBenches } from './lib/args.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Fields that say WHAT was measured (lines agreeing on them are compared across backends). */
const IDENTITY = ['bench', 'variant', 'batch', 'beam', 'dims', 'encoder', 'images', 'refs', 'steps', 'workers'];
/** Speed fields: lower is better for times, higher for rates. */
const TIMES = ['ms', 'cpu_ms'];
const RATES = ['images_per_s', 'after_first_batch_per_s'];

type Line = Record<string, unknown>;

/** Runs one bench file on one backend ('' = the inherited one); its JSON lines, each naming the backend. */
function runBench(file: string, backend: string, flags: string[]): Line[] {
  const env = backend ? { ...process.env, PLUMAGE_BACKEND: backend } : process.env;
  const name = backend || process.env.PLUMAGE_BACKEND || 'default';
  process.stderr.write(`bench: ${file} on ${name}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, file), ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: join(here, '..'),
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines: Line[] = [];
  for (const text of (r.stdout ?? '').split('\n')) {
    if (!text.trim()) continue;
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      process.stdout.write(text + '\n'); // not a measurement: pass it on untouched
      continue;
    }
    line = { ...line, backend: line.backend ?? name };
    if (backend) line.run_backend = backend;
    lines.push(line);
  }
  if (r.status !== 0)
    lines.push({ bench: file.replace(/\.ts$/, ''), backend: name, error: `exit ${r.status}` });
  for (const l of lines) process.stdout.write(JSON.stringify(l) + '\n');
  return lines;
}

const identity = (l: Line) => JSON.stringify(IDENTITY.map((k) => l[k] ?? null));

/** backend_ratio lines: the first backend against each other one, per measurement and speed field. */
function ratios(lines: Line[], backends: string[]): Line[] {
  const out: Line[] = [];
  const [first, ...others] = backends;
  for (const a of lines.filter((l) => l.run_backend === first && !l.error)) {
    for (const other of others) {
      const b = lines.find((l) => l.run_backend === other && !l.error && identity(l) === identity(a));
      if (!b) continue;
      for (const field of [...TIMES, ...RATES]) {
        const x = a[field];
        const y = b[field];
        if (typeof x !== 'number' || typeof y !== 'number' || x <= 0 || y <= 0) continue;
        const speedup = TIMES.includes(field) ? y / x : x / y;
        const what = Object.fromEntries(IDENTITY.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
        out.push({
          ...what,
          bench: 'backend_ratio',
          of: a.bench,
          backend: `${first} vs ${other}`,
          field,
          [first]: x,
          [other]: y,
          speedup: Number(speedup.toFixed(2)),
        });
      }
    }
  }
  return out;
}

let files: string[] = [];
let args: BenchArgs = { only: [], backends: [], passOn: [] };
try {
  args = parseBenchArgs(process.argv.slice(2));
  files = selectBenches(readdirSync(here), args.only);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(2);
}
const { passOn, backends } = args;

const all: Line[] = [];
for (const f of files) for (const b of backends.length ? backends : ['']) all.push(...runBench(f, b, passOn));
if (backends.length > 1)
  for (const r of ratios(all, backends)) process.stdout.write(JSON.stringify(r) + '\n');
process.exitCode = all.some((l) => l.error) ? 1 : 0;
