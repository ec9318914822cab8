/**
 * A run's files in ws.checkpoints (PyTorch names, docs/design.md: Weights interop with PyTorch). Every file is written to a temporary
 * name, flushed and renamed over the old one, so a killed process leaves either the old file or
 * the new one, never half of one:
 *   <run>.safetensors         best weights (by the validation score, see train/validation.ts)
 *   <run>.json                sidecar: variant, dims, vocab, classes, encoder, config, best epoch
 *   <run>.resume.safetensors  latest weights + optimizer state ("opt.<slot>.<param>"), and the
 *                             position (ResumeState) in its metadata: one file, one rename
 *   <run>.resume.json         the same position, for listings (the .safetensors copy wins)
 *
 * Everything that reads or writes these files goes through this module: training, evaluation,
 * prediction, batch captioning, weight export and import.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { RunRecord } from '../data/runs.ts';
import type { Workspace } from '../data/workspace.ts';
import { captionerFeatureWidth, hasCap, hasCls, paramsFromTensors, type ModelDims, type Params, type ParamView, type Variant } from '../ml/model.ts';
import { optimStateFromTensors, optimStateTensors, type OptimState } from '../ml/optim.ts';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../ml/safetensors.ts';
import { conflict, ioError, unavailable } from '../util/errors.ts';
import type { TrainConfig } from './train/config.ts';

export interface Sidecar {
  run: string;
  variant: Variant;
  dims: ModelDims;
  vocab: string[];
  /** Classifier output order; id is classes.id (−1 for an imported class not in the workspace). */
  classes: { id: number; name: string }[];
  encoder: string;
  encoderPath: string | null;
  featureShape: [number, number, number];
  /** Caption length T including <bos>/<eos>. */
  maxLen: number;
  config: TrainConfig;
  epoch: number;
  bestScore: number | null;
  /**
   * The captioner's prior feature under the best weights (jobs/train/caption-prior.ts), for the
   * product decoding's contrastive ranking. Absent for cnn, imported weights and runs trained
   * before it was kept: those decode without it.
   */
  captionPrior?: number[];
}

/** Where a run stands: enough to continue it exactly (with the weights and optimizer state). */
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

/** Writes through `write(tmp)`, flushes the file to disk and renames it over `path`. */
export function atomicWrite(path: string, write: (tmp: string) => void): void {
  const tmp = `${path}.${process.pid}.tmp`;
  write(tmp);
  const fd = openSync(tmp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

const writeJson = (path: string, value: unknown) => atomicWrite(path, (tmp) => writeFileSync(tmp, JSON.stringify(value)));

function tensorsOf(params: Record<string, tf.Tensor>, prefix = '') {
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

export function saveWeights(path: string, params: Record<string, tf.Tensor>, meta: Record<string, string>): void {
  atomicWrite(path, (tmp) => writeSafetensors(tmp, tensorsOf(params), { format: 'pt', ...meta }));
}

export function saveSidecar(ws: Workspace, sidecar: Sidecar): void {
  writeJson(checkpointPaths(ws, sidecar.run).sidecar, sidecar);
}

export function readSidecar(ws: Workspace, run: string): Sidecar {
  const p = checkpointPaths(ws, run).sidecar;
  if (!existsSync(p)) throw ioError(`run ${run} has no checkpoint sidecar (${p})`);
  return JSON.parse(readFileSync(p, 'utf8')) as Sidecar;
}

/** The one check before a run's best weights are used: the run has them, and the file is there. */
export function requireCheckpoint(ws: Workspace, run: RunRecord): string {
  if (!run.checkpoint) throw unavailable(`run ${run.id} has no checkpoint (status ${run.status})`);
  const path = checkpointPaths(ws, run.id).weights;
  if (!existsSync(path)) throw ioError(`checkpoint of run ${run.id} is missing: ${path}`);
  return path;
}

/** The best weights of a run as plain tensors (the caller disposes them). */
export function loadRunWeights(ws: Workspace, run: string): Record<string, tf.Tensor> {
  const f = readSafetensors(checkpointPaths(ws, run).weights);
  const out: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(f.tensors))
    out[n] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
  return out;
}

/** A run's weights plus what is needed to read its outputs (vocabulary, class order). */
export interface RunModel {
  P: ParamView;
  variant: Variant;
  /** Token id → word (ids 0..3 are the specials). Empty for cnn. */
  words: string[];
  /** Classifier output index → classes.id. Empty for lrcn. */
  classIds: number[];
  /** Caption length incl. <bos>/<eos> used for decoding. */
  T: number;
  /** The captioner's prior feature for the product decoding (null: the run has none). */
  prior: number[] | null;
}

/** Loads a run's best weights and sidecar, checking the vocabulary and class list against the tensors. */
export function loadRunModel(ws: Workspace, run: RunRecord): RunModel {
  requireCheckpoint(ws, run);
  const side = readSidecar(ws, run.id);
  const tensors = loadRunWeights(ws, run.id);
  const { params } = paramsFromTensors(tensors, run.variant);
  for (const t of Object.values(tensors)) t.dispose();
  const words = side.vocab;
  const classIds = side.classes.map((c) => c.id);
  if (hasCap(run.variant) && words.length !== params['cap.embed.weight'].shape[0])
    throw conflict(`run ${run.id}: vocabulary has ${words.length} words, the model ${params['cap.embed.weight'].shape[0]}`);
  if (hasCls(run.variant) && classIds.length !== params['cls.weight'].shape[0])
    throw conflict(`run ${run.id}: class list has ${classIds.length} classes, the model ${params['cls.weight'].shape[0]}`);
  const prior = hasCap(run.variant) ? (side.captionPrior ?? null) : null;
  if (prior && prior.length !== captionerFeatureWidth(params))
    throw conflict(`run ${run.id}: caption prior has ${prior.length} values, the captioner's feature ${captionerFeatureWidth(params)}`);
  return { P: params, variant: run.variant, words, classIds, T: side.maxLen, prior };
}

// ---------------------------------------------------------------------------------------------
// Resume checkpoint

export function saveResume(ws: Workspace, run: string, params: Params, opt: OptimState, state: ResumeState): void {
  const p = checkpointPaths(ws, run);
  const optTensors = optimStateTensors(opt);
  const all = { ...tensorsOf(params), ...tensorsOf(optTensors, 'opt.') };
  optTensors['#step'].dispose();
  const position = { ...state, optimizerT: opt.step };
  atomicWrite(p.resumeWeights, (tmp) =>
    writeSafetensors(tmp, all, { format: 'pt', resume_state: JSON.stringify(position) }),
  );
  writeJson(p.resumeState, position);
}

/** Whether the run has a resume checkpoint at all. */
export function hasResume(ws: Workspace, run: string): boolean {
  return existsSync(checkpointPaths(ws, run).resumeWeights);
}

/** The position of the run's resume checkpoint (null without one). */
export function readResumeState(ws: Workspace, run: string): ResumeState | null {
  const p = checkpointPaths(ws, run);
  if (!existsSync(p.resumeWeights)) return null;
  const inWeights = readSafetensorsMetadata(p.resumeWeights).resume_state;
  // Checkpoints of earlier versions keep the position only in the .json file.
  if (inWeights) return JSON.parse(inWeights) as ResumeState;
  return existsSync(p.resumeState) ? (JSON.parse(readFileSync(p.resumeState, 'utf8')) as ResumeState) : null;
}

/** Restores the resume checkpoint's weights into `params` and returns its optimizer state. */
export function restoreResume(ws: Workspace, run: string, params: Params): OptimState {
  const f = readSafetensors(checkpointPaths(ws, run).resumeWeights);
  const optTensors: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(f.tensors)) {
    const x = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
    if (n.startsWith('opt.')) optTensors[n.slice(4)] = x;
    else if (params[n]) {
      params[n].assign(x);
      x.dispose();
    } else x.dispose();
  }
  const opt = optimStateFromTensors(optTensors);
  for (const x of Object.values(optTensors)) x.dispose();
  return opt;
}
