import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { getRun } from '../../data/runs.ts';
import { importWeights } from '../../jobs/import-weights.ts';
import { inspectModel } from '../../jobs/inspect.ts';
import { readSidecar, requireCheckpoint } from '../../jobs/run-artifact.ts';
import { initBackend } from '../../ml/backend.ts';
import { readSafetensors } from '../../ml/safetensors.ts';
import { errorCode, firstLine, invalidRequest, ioError, notFound, PlumageError } from '../../util/errors.ts';
import type { OpContext } from './context.ts';
import { id, path, runId, variant } from './schemas.ts';

const safetensorsFile = path.refine((p) => p.endsWith('.safetensors'), 'must end in .safetensors');

export const exportWeightsRequest = z.strictObject({ run: runId, out: safetensorsFile });
export type ExportWeightsRequest = z.infer<typeof exportWeightsRequest>;

/**
 * A run's best weights in the PyTorch layout (docs/design.md: Weights interop with PyTorch), plus
 * W.json beside them: vocabulary, classes, dims and encoder, what `import-weights` and PyTorch
 * users need to read the outputs, and the captioner's prior feature of the product decoding.
 */
export function exportWeights(ctx: OpContext, req: ExportWeightsRequest) {
  const r = getRun(ctx.db, req.run);
  if (!r) throw notFound(`no run ${req.run}`);
  const src = requireCheckpoint(ctx.ws, r);
  const file = readSafetensors(src); // validates the file before handing it out
  const out = resolve(req.out);
  copyFileSync(src, out);
  const side = readSidecar(ctx.ws, r.id);
  const sidecar = out.replace(/\.safetensors$/, '.json');
  const description = {
    format: 'plumage-weights-sidecar/1',
    run: r.id,
    variant: r.variant,
    dims: side.dims,
    vocab: side.vocab,
    classes: side.classes.map((c) => c.name),
    encoder: r.encoder,
    feature_shape: side.featureShape,
    max_len: side.maxLen,
    ...(side.captionPrior ? { caption_prior: side.captionPrior } : {}),
  };
  writeFileSync(sidecar, JSON.stringify(description, null, 2));
  return { run: r.id, variant: r.variant, out, sidecar, tensors: Object.keys(file.tensors).sort() };
}

export const importWeightsRequest = z.strictObject({
  file: path,
  /** Default: W.json's, else inferred from the tensors. */
  variant: variant.optional(),
  /** Vocabulary / class names (JSON list or one per line); default: W.json's. */
  vocab: path.optional(),
  classes: path.optional(),
  encoder: z.string().min(1).max(200).optional(),
  collectionId: id.optional(),
  maxLen: z.number().int().min(3).max(1000).optional(),
});
export type ImportWeightsRequest = z.infer<typeof importWeightsRequest>;

/** A list from a JSON file (array, or {words|vocab|itos|classes: [...]}) or a text file (one per line). */
function readList(file: string): string[] {
  if (!existsSync(file)) throw ioError(`no such file: ${file}`);
  const text = readFileSync(file, 'utf8');
  try {
    const j = JSON.parse(text) as unknown;
    if (Array.isArray(j)) return j.map(String);
    const r = j as Record<string, unknown>;
    for (const k of ['words', 'vocab', 'itos', 'classes']) if (Array.isArray(r[k])) return (r[k] as unknown[]).map(String);
  } catch {
    /* plain text */
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/** A list of finite numbers, or null for anything else. */
function numberList(x: unknown): number[] | null {
  return Array.isArray(x) && x.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (x as number[]) : null;
}

/** W.json beside the weights (as `export weights` writes it), or nothing. */
function readWeightsSidecar(file: string): Record<string, unknown> {
  const p = file.replace(/\.safetensors$/, '.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : {};
}

/** A finished run from PyTorch-layout safetensors; what the request leaves out comes from W.json beside the file. */
export function importWeightsFile(ctx: OpContext, req: ImportWeightsRequest) {
  const file = resolve(req.file);
  if (!existsSync(file)) throw ioError(`no such file: ${req.file}`);
  const side = readWeightsSidecar(file);
  const sideClasses = Array.isArray(side.classes)
    ? (side.classes as unknown[]).map((c) => (typeof c === 'string' ? c : String((c as { name: string }).name)))
    : null;
  const sideVariant = variant.safeParse(side.variant);
  return importWeights({
    home: ctx.ws.home,
    file,
    variant: req.variant ?? (sideVariant.success ? sideVariant.data : undefined),
    vocab: req.vocab ? readList(req.vocab) : Array.isArray(side.vocab) ? (side.vocab as string[]) : null,
    classes: req.classes ? readList(req.classes) : sideClasses,
    encoder: req.encoder ?? (typeof side.encoder === 'string' ? side.encoder : undefined),
    collectionId: req.collectionId,
    maxLen: req.maxLen ?? (typeof side.max_len === 'number' ? side.max_len : undefined),
    captionPrior: numberList(side.caption_prior),
  });
}

export const inspectRequest = z.strictObject({
  weights: path,
  inputs: path,
  /** Also the Algorithm-1 gradient of every parameter, and class_pred. */
  gradTotal: z.boolean().default(false),
});
export type InspectRequest = z.infer<typeof inspectRequest>;

/** The model's outputs, CAMs, losses and L_cam gradient on given weights and inputs (the interop check against PyTorch). */
export async function inspectWeights(req: InspectRequest): Promise<Record<string, unknown>> {
  await initBackend();
  const W = readSafetensors(req.weights).tensors;
  const I = readSafetensors(req.inputs).tensors;
  for (const n of ['features', 'labels', 'captions']) if (!I[n]) throw invalidRequest(`inputs file has no tensor '${n}'`);
  const tf = await import('@tensorflow/tfjs');
  try {
    return inspectModel(W, I, { gradTotal: req.gradTotal });
  } catch (e) {
    // tensors of the wrong shape for the model are a bad input file, not a bug
    throw new PlumageError(errorCode(e) === 'internal' ? 'invalid_request' : errorCode(e), firstLine(e));
  } finally {
    tf.disposeVariables();
  }
}
