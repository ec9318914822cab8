#!/usr/bin/env node
// `npm start` needs the Electron binary, which electron's postinstall normally downloads. That
// script is disabled in package.json "allowScripts" (offline CI cannot fetch it), so fetch it here,
// once, when someone with internet access starts the desktop app.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const electronDir = resolve(dirname(fileURLToPath(import.meta.url)), '../node_modules/electron');
const pathFile = join(electronDir, 'path.txt');
const installed = existsSync(pathFile) && existsSync(join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim()));
if (!installed) {
  process.stderr.write('plumage: downloading the Electron binary (once)…\n');
  const r = spawnSync(process.execPath, [join(electronDir, 'install.js')], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write('plumage: could not download Electron. Browser mode works offline: npx plumage serve\n');
    process.exit(r.status ?? 1);
  }
}
