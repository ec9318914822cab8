/**
 * The live PyTorch reference for the training-step benchmark: runs ../shared/ref/torch_joint.py
 * (timing mode) with the PyTorch found in a venv, at 1 and at 2 threads, and keeps the faster
 * median per variant. PyTorch's best thread setting changes with the load on the machine, so
 * both are measured in the same sitting as Plumage's own step.
 *
 * Where the venv is: env PLUMAGE_TORCH_PYTHON (a python executable), else `../cache/V/bin/python`
 * beside the repository (docs/model.md, "Speed"). The script: env PLUMAGE_TORCH_REF, else
 * `../shared/ref/torch_joint.py`. When either is missing, `torchReference` says why and the
 * benchmark prints no ratio.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelDims, Variant } from '../../src-main/ml/model.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The reference numbers its variants 1..4. */
export const TORCH_VARIANT: Record<Variant, number> = { cnn: 1, lrcn: 2, medi: 3, cam: 4 };

export interface TorchTiming {
  /** the faster of the two thread settings */
  ms: number;
  threads: number;
  byThreads: Record<number, number>;
}

export interface TorchReference {
  version: string;
  /** variant → timing, for one batch size */
  timings: Map<Variant, TorchTiming>;
}

export function torchPaths(): { python: string; script: string } {
  return {
    python: process.env.PLUMAGE_TORCH_PYTHON || resolve(repoRoot, '../cache/V/bin/python'),
    script: process.env.PLUMAGE_TORCH_REF || resolve(repoRoot, '../shared/ref/torch_joint.py'),
  };
}

/** Why the reference cannot run here, or null when it can. */
export function torchMissing(): string | null {
  const { python, script } = torchPaths();
  if (!existsSync(python)) return `no PyTorch venv at ${python} (set PLUMAGE_TORCH_PYTHON)`;
  if (!existsSync(script)) return `no reference script at ${script} (set PLUMAGE_TORCH_REF)`;
  return null;
}

/** Parses the timing table: `variant B median_ms min_ms max_ms other_load losses…`. */
export function parseTorchTiming(stdout: string): { version: string; medians: Map<number, number> } {
  const version = /^# torch (\S+)/m.exec(stdout)?.[1] ?? 'unknown';
  const medians = new Map<number, number>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*([1-4])\s+\d+\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s/.exec(line);
    if (m) medians.set(Number(m[1]), Number(m[2]));
  }
  return { version, medians };
}

/** The reference's width options for a model size (its defaults are the paper's sizes). */
export function torchDimsArgs(d: ModelDims): string[] {
  const widths: [string, number][] = [
    ['--K', d.K],
    ['--D', d.D],
    ['--embed', d.E],
    ['--Hd', d.Hd],
    ['--vocab', d.V],
    ['--classes', d.C],
  ];
  return widths.flatMap(([flag, n]) => [flag, String(n)]);
}

/**
 * Median ms per training step of the reference for these variants and this batch, at 1 and 2
 * threads, at the given widths (default: the reference's own, the paper's sizes). Throws with the
 * reference's own last error line when it fails.
 */
export function torchReference(
  variants: Variant[],
  batch: number,
  o: { steps: number; warmup: number; dims?: ModelDims },
): TorchReference {
  const { python, script } = torchPaths();
  const ids = variants.map((v) => TORCH_VARIANT[v]).join(',');
  const timings = new Map<Variant, TorchTiming>();
  let version = 'unknown';
  for (const threads of [1, 2]) {
    const args = [script, '--variant', ids, '--batch', String(batch), '--steps', String(o.steps)];
    args.push('--warmup', String(o.warmup), '--threads', String(threads));
    if (o.dims) args.push(...torchDimsArgs(o.dims));
    const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) {
      const last = (r.stderr || r.error?.message || '').trim().split('\n').pop();
      throw new Error(`PyTorch reference failed (${python} ${args.join(' ')}): ${last}`);
    }
    const parsed = parseTorchTiming(r.stdout);
    version = parsed.version;
    for (const v of variants) {
      const ms = parsed.medians.get(TORCH_VARIANT[v]);
      if (ms === undefined) continue;
      const t = timings.get(v) ?? { ms: Infinity, threads: 0, byThreads: {} };
      t.byThreads[threads] = ms;
      if (ms < t.ms) Object.assign(t, { ms, threads });
      timings.set(v, t);
    }
  }
  return { version, timings };
}
