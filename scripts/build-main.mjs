#!/usr/bin/env node
// Bundles the Electron main process and the preload with esbuild into dist/electron/.
//  - main.js: ESM (package.json is "type": "module"), Node platform; native and heavy packages stay
//    external and are loaded from node_modules (asarUnpack in electron-builder.yml).
//  - worker-train.js: the training worker thread (same format as main.js);
//    worker-grads.js: the threads a training step's batch is split over (started from worker-train.js).
//  - preload.js: CommonJS, because sandboxed preloads run as plain scripts with a restricted
//    `require` that only provides 'electron' (no Node modules, no ESM).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, 'dist/electron');
const EXTERNAL = ['electron', 'better-sqlite3', 'sharp', '@tensorflow/*'];

export async function buildMain({ quiet = false } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  const common = { bundle: true, sourcemap: 'linked', logLevel: quiet ? 'error' : 'info', absWorkingDir: root };
  await Promise.all([
    build({
      ...common,
      // The training worker thread gets its own entry: a bundle cannot point a Worker at a .ts file.
      entryPoints: [
        { in: resolve(root, 'src-main/electron/main.ts'), out: 'main' },
        { in: resolve(root, 'src-main/jobs/train/worker-train.ts'), out: 'worker-train' },
        { in: resolve(root, 'src-main/jobs/train/worker-grads.ts'), out: 'worker-grads' },
        { in: resolve(root, 'src-main/jobs/worker-insights.ts'), out: 'worker-insights' },
      ],
      outdir,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: EXTERNAL,
      // Bundled CommonJS dependencies call require(); give ESM one.
      banner: { js: "import { createRequire as __plumageRequire } from 'node:module'; const require = __plumageRequire(import.meta.url);" },
    }),
    build({
      ...common,
      entryPoints: [resolve(root, 'src-main/electron/preload.ts')],
      outfile: resolve(outdir, 'preload.js'),
      platform: 'browser',
      format: 'cjs',
      target: 'chrome120',
      external: ['electron'],
    }),
  ]);
  return { main: resolve(outdir, 'main.js'), preload: resolve(outdir, 'preload.js'), worker: resolve(outdir, 'worker-train.js') };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildMain();
}
