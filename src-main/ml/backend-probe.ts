/**
 * Which backend initBackend() will pick, found WITHOUT loading TF.js (the api process shows it in
 * the status bar before any job has run; loading TF.js there would stall every request).
 * Same order as backend.ts: tfjs-node-gpu → tfjs-node → wasm → cpu, PLUMAGE_BACKEND forces one.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

export function expectedBackend(env: NodeJS.ProcessEnv = process.env): string {
  const forced = (env.PLUMAGE_BACKEND || '').trim().toLowerCase();
  if (forced) return `${forced} (forced by PLUMAGE_BACKEND)`;
  if (installed('@tensorflow/tfjs-node-gpu')) return 'gpu (tfjs-node-gpu)';
  if (installed('@tensorflow/tfjs-node')) return 'node (tfjs-node)';
  if (installed('@tensorflow/tfjs-backend-wasm')) return 'wasm (tfjs-backend-wasm)';
  return 'cpu (tfjs-backend-cpu)';
}
