/**
 * Import of PyTorch-layout weights (plumage import-weights): a finished run made from a
 * safetensors file, stored like a trained run's.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { createRun, newRunId, updateRun } from '../data/runs.ts';
import { openDb, type Db } from '../data/store.ts';
import { workspace } from '../data/workspace.ts';
import { initBackend } from '../ml/backend.ts';
import { captionerFeatureWidth, hasCap, hasCls, paramsFromTensors, type Variant } from '../ml/model.ts';
import { readSafetensors } from '../ml/safetensors.ts';
import { checkpointPaths, saveSidecar, saveWeights } from './run-artifact.ts';
import { DEFAULT_CONFIG, type TrainConfig } from './train/config.ts';
import { invalidRequest } from '../util/errors.ts';

export interface ImportWeightsOptions {
  home: string;
  file: string;
  variant?: Variant;
  vocab: string[] | null;
  classes: string[] | null;
  encoder?: string;
  collectionId?: number;
  maxLen?: number;
  /** The captioner's prior feature for the product decoding (W.json's), if the weights come with one. */
  captionPrior?: number[] | null;
}

/** The caption prior given with the weights, checked against the captioner's input width (null: none). */
function importedPrior(o: ImportWeightsOptions, variant: Variant, tensors: Record<string, tf.Tensor>): number[] | null {
  if (!o.captionPrior || !hasCap(variant)) return null;
  const width = captionerFeatureWidth(tensors);
  if (o.captionPrior.length !== width)
    throw invalidRequest(`caption_prior has ${o.captionPrior.length} values, the captioner's feature ${width}`);
  return o.captionPrior;
}

/** The variant, sizes and encoder of the weights, checked against the vocabulary, classes and encoder given. */
async function checkImport(o: ImportWeightsOptions, tensors: Record<string, tf.Tensor>, warnings: string[]) {
  const { params, variant: inferred, dims } = paramsFromTensors(tensors, o.variant);
  for (const p of Object.values(params)) p.dispose();
  const variant = o.variant ?? inferred;
  if (!o.variant && inferred === 'cam')
    warnings.push('medi.* present: imported as variant cam (pass --variant medi if it was trained without L_cam)');
  if (hasCap(variant)) {
    if (!o.vocab) throw invalidRequest('captioner weights need a vocabulary: put W.json beside the file or pass --vocab');
    if (o.vocab.length !== dims.V)
      throw invalidRequest(`vocabulary has ${o.vocab.length} words, cap.embed.weight has ${dims.V} rows`);
  }
  if (hasCls(variant)) {
    if (!o.classes) throw invalidRequest('classifier weights need class names: put W.json beside the file or pass --classes');
    if (o.classes.length !== dims.C)
      throw invalidRequest(`class list has ${o.classes.length} names, cls.weight has ${dims.C} rows`);
  }
  const encoder = o.encoder ?? null;
  if (!encoder) throw invalidRequest('name the encoder whose features these weights expect (--encoder ID)');
  const entry = (await import('../ml/encoders/registry.ts')).encoderEntry(encoder);
  if (entry && entry.shape[2] !== dims.K)
    throw invalidRequest(`encoder ${encoder} gives K=${entry.shape[2]} channels, the weights expect K=${dims.K}`);
  return { variant, dims, encoder, featureShape: entry ? entry.shape : ([0, 0, dims.K] as [number, number, number]) };
}

/** Class ids by name in the given (or any) collection, so eval and suggestions can use them (−1: not in the workspace). */
function classRowsOf(db: Db, names: string[], collectionId: number | null): { id: number; name: string }[] {
  const byName = db.prepare(`SELECT id FROM classes WHERE name = ? AND (? IS NULL OR collection_id = ?) ORDER BY id LIMIT 1`);
  return names.map((name) => ({ id: (byName.get(name, collectionId, collectionId) as { id: number } | undefined)?.id ?? -1, name }));
}

/**
 * Creates a finished run from a safetensors file in the docs/design.md: Weights interop with PyTorch layout: shapes are checked
 * against the variant, the vocabulary and class list against the tensors, and the weights and a
 * sidecar are written to the checkpoints folder like a trained run's — before the run's row, which
 * is created 'done', so an interrupted import leaves no half-made run.
 */
export async function importWeights(o: ImportWeightsOptions) {
  const ws = workspace(o.home);
  const backend = await initBackend();
  const f = readSafetensors(o.file);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(f.tensors)) tensors[n] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
  const warnings: string[] = [];
  try {
    const { variant, dims, encoder, featureShape } = await checkImport(o, tensors, warnings);
    const db = openDb(ws.dbPath);
    try {
      const classes = classRowsOf(db, o.classes ?? [], o.collectionId ?? null);
      const unknown = classes.filter((c) => c.id < 0).length;
      if (unknown) warnings.push(`${unknown} of ${classes.length} classes are not in the workspace (eval needs them)`);
      const h = createHash('sha256').update(readFileSync(o.file)).digest('hex').slice(0, 16);
      const maxLen = o.maxLen ?? 20;
      const cfg = { ...DEFAULT_CONFIG, variant, encoder, imported: o.file, maxLen } as unknown as TrainConfig;
      const id = newRunId();
      saveWeights(checkpointPaths(ws, id).weights, tensors, { run: id, variant });
      const vocab = o.vocab ?? [];
      const captionPrior = importedPrior(o, variant, tensors);
      saveSidecar(ws, { run: id, variant, dims, vocab, classes, encoder, encoderPath: null, featureShape, maxLen, config: cfg, epoch: -1, bestScore: null, ...(captionPrior ? { captionPrior } : {}) });
      createRun(db, {
        id,
        collectionId: o.collectionId ?? null,
        variant,
        encoder,
        backend: backend.name,
        config: cfg as unknown as Record<string, unknown>,
        datasetVersion: `imported:${h}`,
        status: 'done',
        warnings,
      });
      updateRun(db, id, { checkpoint: `${id}.safetensors` });
      return { run: id, variant, status: 'done' as const, dims, encoder, checkpoint: `${id}.safetensors`, warnings };
    } finally {
      db.close();
    }
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
