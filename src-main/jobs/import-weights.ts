/**
 * Import of PyTorch-layout weights (plumage import-weights): a finished run made from a
 * safetensors file, stored like a trained run's.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { createRun, updateRun } from '../data/runs.ts';
import { openDb } from '../data/store.ts';
import { workspace } from '../data/workspace.ts';
import { initBackend } from '../ml/backend.ts';
import { hasCap, hasCls, paramsFromTensors, type Variant } from '../ml/model.ts';
import { readSafetensors, writeSafetensors } from '../ml/safetensors.ts';
import { checkpointPaths, tensorsOf, type Sidecar } from './run-artifact.ts';
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
}

/**
 * Creates a finished run from a safetensors file in the docs/design.md: Weights interop with PyTorch layout: shapes are checked
 * against the variant, the vocabulary and class list against the tensors, and the weights and a
 * sidecar are written to the checkpoints folder like a trained run's.
 */
export async function importWeights(o: ImportWeightsOptions) {
  const ws = workspace(o.home);
  const backend = await initBackend();
  const f = readSafetensors(o.file);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(f.tensors))
    tensors[n] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
  const warnings: string[] = [];
  try {
    const { params, variant: inferred, dims } = paramsFromTensors(tensors, o.variant);
    for (const p of Object.values(params)) p.dispose();
    const variant = o.variant ?? inferred;
    if (!o.variant && inferred === 'cam')
      warnings.push(
        'medi.* present: imported as variant cam (pass --variant medi if it was trained without L_cam)',
      );
    if (hasCap(variant)) {
      if (!o.vocab)
        throw invalidRequest('captioner weights need a vocabulary: put W.json beside the file or pass --vocab');
      if (o.vocab.length !== dims.V)
        throw invalidRequest(`vocabulary has ${o.vocab.length} words, cap.embed.weight has ${dims.V} rows`);
    }
    if (hasCls(variant)) {
      if (!o.classes)
        throw invalidRequest('classifier weights need class names: put W.json beside the file or pass --classes');
      if (o.classes.length !== dims.C)
        throw invalidRequest(`class list has ${o.classes.length} names, cls.weight has ${dims.C} rows`);
    }
    const encoder = o.encoder ?? null;
    if (!encoder) throw invalidRequest('name the encoder whose features these weights expect (--encoder ID)');
    const entry = (await import('../ml/encoders/registry.ts')).encoderEntry(encoder);
    if (entry && entry.shape[2] !== dims.K)
      throw new Error(
        `encoder ${encoder} gives K=${entry.shape[2]} channels, the weights expect K=${dims.K}`,
      );
    const db = openDb(ws.dbPath);
    try {
      // Class ids: by name in the given (or any) collection, so eval and suggestions can use them.
      const classRows = (o.classes ?? []).map((name) => {
        const r = db
          .prepare(
            `SELECT id FROM classes WHERE name = ? AND (? IS NULL OR collection_id = ?) ORDER BY id LIMIT 1`,
          )
          .get(name, o.collectionId ?? null, o.collectionId ?? null) as { id: number } | undefined;
        return { id: r?.id ?? -1, name };
      });
      const unknown = classRows.filter((c) => c.id < 0).length;
      if (unknown)
        warnings.push(`${unknown} of ${classRows.length} classes are not in the workspace (eval needs them)`);
      const h = createHash('sha256').update(readFileSync(o.file)).digest('hex').slice(0, 16);
      const cfg = {
        ...DEFAULT_CONFIG,
        variant,
        encoder,
        imported: o.file,
        maxLen: o.maxLen ?? 20,
      } as unknown as TrainConfig;
      const run = createRun(db, {
        collectionId: o.collectionId ?? null,
        variant,
        encoder,
        backend: backend.name,
        config: cfg as unknown as Record<string, unknown>,
        datasetVersion: `imported:${h}`,
        status: 'running',
        warnings,
      });
      const paths = checkpointPaths(ws, run.id);
      writeSafetensors(paths.weights, tensorsOf(tensors), { format: 'pt', run: run.id, variant });
      const sidecar: Sidecar = {
        run: run.id,
        variant,
        dims,
        vocab: o.vocab ?? [],
        classes: classRows,
        encoder,
        encoderPath: null,
        featureShape: entry ? entry.shape : [0, 0, dims.K],
        maxLen: o.maxLen ?? 20,
        config: cfg,
        epoch: -1,
        bestScore: null,
      };
      writeFileSync(paths.sidecar, JSON.stringify(sidecar));
      updateRun(db, run.id, { status: 'done', checkpoint: `${run.id}.safetensors`, warnings });
      return {
        run: run.id,
        variant,
        status: 'done' as const,
        dims,
        encoder,
        checkpoint: `${run.id}.safetensors`,
        warnings,
      };
    } finally {
      db.close();
    }
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
