/**
 * `npm run bench`: runs every hot-path benchmark in bench/*.ts (each a script that prints one
 * machine-readable JSON line per measurement, `{"bench": …}`) in its own process, one after
 * another so they do not compete for the two cores. Extra arguments (e.g. --quick) are passed on.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const EXPERIMENTS = ['mask-pointing.ts'];
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  // Experiments (minutes of training on a prepared workspace) run only when named explicitly.
  .filter((f) => (only.length === 0 ? !EXPERIMENTS.includes(f) : only.some((o) => f.startsWith(o))))
  .sort();

let failed = 0;
for (const f of files) {
  process.stderr.write(`bench: ${f}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, f), ...flags], {
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: join(here, '..'),
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(JSON.stringify({ bench: f.replace(/\.ts$/, ''), error: `exit ${r.status}` }) + '\n');
  }
}
process.exitCode = failed ? 1 : 0;
