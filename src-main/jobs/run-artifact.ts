/**
 * A run's files in ws.checkpoints (PyTorch names, DESIGN §5), written atomically:
 *   <run>.safetensors       best weights (by the validation score, see selectionScore)
 *   <run>.json              sidecar: variant, dims, vocab, classes, encoder, config, best epoch
 *   <run>.resume.safetensors  latest weights + optimizer state ("opt.<slot>.<param>")
 *   <run>.resume.json       position: epoch, step, RNG state, permutation, best score, patience
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Workspace } from '../data/workspace.ts';
import type { ModelDims, Params, Variant } from '../ml/model.ts';
import { optimStateTensors, type OptimState } from '../ml/optim.ts';
import { readSafetensors, writeSafetensors } from '../ml/safetensors.ts';
import type { TrainConfig } from './train/config.ts';

export interface Sidecar {
  run: string;
  variant: Variant;
  dims: ModelDims;
  vocab: string[];
  classes: { id: number; name: string }[];
  encoder: string;
  encoderPath: string | null;
  featureShape: [number, number, number];
  maxLen: number;
  config: TrainConfig;
  epoch: number;
  bestScore: number | null;
}

export interface ResumeState {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  rng: number;
  perm: number[];
  bestScore: number | null;
  bestEpoch: number;
  badEpochs: number;
  optimizerT: number;
  elapsedMs: number;
  finished: boolean;
}

export function checkpointPaths(ws: Workspace, run: string) {
  return {
    weights: join(ws.checkpoints, `${run}.safetensors`),
    sidecar: join(ws.checkpoints, `${run}.json`),
    resumeWeights: join(ws.checkpoints, `${run}.resume.safetensors`),
    resumeState: join(ws.checkpoints, `${run}.resume.json`),
  };
}

export function atomicWrite(path: string, write: (tmp: string) => void): void {
  const tmp = `${path}.${process.pid}.tmp`;
  write(tmp);
  renameSync(tmp, path);
}

export function tensorsOf(params: Record<string, tf.Tensor>, prefix = '') {
  const out: Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }> = {};
  for (const [n, t] of Object.entries(params)) {
    out[prefix + n] = {
      dtype: t.dtype === 'int32' ? 'I32' : 'F32',
      shape: t.shape,
      data: t.dataSync() as Float32Array | Int32Array,
    };
  }
  return out;
}

export function saveWeights(path: string, params: Params, meta: Record<string, string>): void {
  atomicWrite(path, (tmp) => writeSafetensors(tmp, tensorsOf(params), { format: 'pt', ...meta }));
}

export function saveResume(ws: Workspace, run: string, params: Params, opt: OptimState, state: ResumeState): void {
  const p = checkpointPaths(ws, run);
  const optTensors = optimStateTensors(opt);
  const all = { ...tensorsOf(params), ...tensorsOf(optTensors, 'opt.') };
  optTensors['#step'].dispose();
  atomicWrite(p.resumeWeights, (tmp) => writeSafetensors(tmp, all, { format: 'pt' }));
  atomicWrite(p.resumeState, (tmp) => writeFileSync(tmp, JSON.stringify({ ...state, optimizerT: opt.step })));
}

export function readSidecar(ws: Workspace, run: string): Sidecar {
  const p = checkpointPaths(ws, run).sidecar;
  if (!existsSync(p)) throw new Error(`run ${run} has no checkpoint sidecar (${p})`);
  return JSON.parse(readFileSync(p, 'utf8')) as Sidecar;
}

/** The best weights of a run as plain tensors (the caller disposes them). */
export function loadRunWeights(ws: Workspace, run: string): Record<string, tf.Tensor> {
  const f = readSafetensors(checkpointPaths(ws, run).weights);
  const out: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(f.tensors))
    out[n] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
  return out;
}
