/**
 * What the experiment scripts need to score or step a finished run outside the training loop:
 * its sidecar (config, vocabulary, encoder), its split of the workspace's photos, the feature
 * cache of its encoder and the word → id index.
 */
import { openDb } from '../../src-main/data/store.ts';
import type { Workspace } from '../../src-main/data/workspace.ts';
import { FeatureCache } from '../../src-main/ml/feature-cache.ts';
import { readSidecar } from '../../src-main/jobs/run-artifact.ts';
import { loadDataset } from '../../src-main/jobs/train/dataset.ts';

export function runData(ws: Workspace, run: string) {
  const side = readSidecar(ws, run);
  const db = openDb(ws.dbPath);
  const data = loadDataset(db, side.config);
  db.close();
  return { side, data, cache: new FeatureCache(ws.features, side.encoder), index: new Map(side.vocab.map((w, i) => [w, i])) };
}
