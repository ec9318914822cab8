/**
 * What the machine offers, found WITHOUT loading TF.js (the api process shows it in the status bar
 * before any job has run; loading TF.js there would stall every request), and the checks
 * backend.ts runs before it imports a native package.
 * Same order as backend.ts: tfjs-node-gpu → tfjs-node → wasm → cpu, PLUMAGE_BACKEND forces one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export const NATIVE_PACKAGES = { gpu: '@tensorflow/tfjs-node-gpu', node: '@tensorflow/tfjs-node' } as const;

/** Folder of an installed package, or null. */
function packageDir(pkg: string): string | null {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return null;
  }
}

/**
 * Why a native package cannot load, or null when it looks loadable: the npm package must be there
 * AND its addon built (offline, npm keeps the package files but the addon download fails).
 */
export function nativeMissing(name: keyof typeof NATIVE_PACKAGES): string | null {
  const pkg = NATIVE_PACKAGES[name];
  const dir = packageDir(pkg);
  if (!dir) return `${pkg} is not installed`;
  const lib = join(dir, 'lib');
  const built =
    existsSync(lib) &&
    readdirSync(lib).some((d) => d.startsWith('napi-v') && existsSync(join(lib, d, 'tfjs_binding.node')));
  if (!built) {
    const how = name === 'gpu' ? 'see docs/training.md' : 'offline: bash scripts/native-offline.sh';
    return `${pkg} is installed but its native addon is not built (${how})`;
  }
  return null;
}

/** `tfjs-node 4.22.0`: the installed package's name and version (libtensorflow's needs TF.js loaded). */
function packageLabel(pkg: string): string {
  const dir = packageDir(pkg);
  const version = dir ? (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version : '?';
  return `${pkg.replace('@tensorflow/', '')} ${version}`;
}

export function expectedBackend(env: NodeJS.ProcessEnv = process.env): string {
  const forced = (env.PLUMAGE_BACKEND || '').trim().toLowerCase();
  if (forced) return `${forced} (forced by PLUMAGE_BACKEND)`;
  if (!nativeMissing('gpu')) return `gpu (${packageLabel(NATIVE_PACKAGES.gpu)})`;
  if (!nativeMissing('node')) return `node (${packageLabel(NATIVE_PACKAGES.node)})`;
  if (packageDir('@tensorflow/tfjs-backend-wasm')) return `wasm (${packageLabel('@tensorflow/tfjs-backend-wasm')})`;
  return 'cpu (tfjs-backend-cpu)';
}
