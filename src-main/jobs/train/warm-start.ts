/** Warm start: a new run's parameters initialised from a finished run's weights. */
import * as tf from '@tensorflow/tfjs';
import type { Workspace } from '../../data/workspace.ts';
import type { Params } from '../../ml/model.ts';
import { readSafetensors } from '../../ml/safetensors.ts';
import { checkpointPaths, readSidecar } from '../run-artifact.ts';

/**
 * Warm start: copies the parent run's tensors into the new parameters. Rows of class-indexed
 * tensors (cls.*) are matched by class name and rows of word-indexed tensors (cap.embed,
 * cap.out) by word, so a retrain after adding classes or words keeps everything it can; other
 * tensors are copied when their shapes agree.
 */
export function warmStart(
  ws: Workspace,
  parent: string,
  params: Params,
  vocab: string[],
  classes: { name: string }[],
): string[] {
  const side = readSidecar(ws, parent);
  const f = readSafetensors(checkpointPaths(ws, parent).weights);
  const reused: string[] = [];
  const rowMap = (name: string): number[] | null => {
    if (name.startsWith('cls.')) {
      const old = new Map(side.classes.map((c, i) => [c.name, i]));
      return classes.map((c) => old.get(c.name) ?? -1);
    }
    if (name === 'cap.embed.weight' || name.startsWith('cap.out.')) {
      const old = new Map(side.vocab.map((w, i) => [w, i]));
      return vocab.map((w) => old.get(w) ?? -1);
    }
    return null;
  };
  for (const [n, p] of Object.entries(params)) {
    const src = f.tensors[n];
    if (!src) continue;
    const map = rowMap(n);
    if (map) {
      const rowLen = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const srcRowLen = src.shape.slice(1).reduce((a, b) => a * b, 1);
      if (rowLen !== srcRowLen) continue;
      const data = (p.dataSync() as Float32Array).slice();
      let hit = 0;
      map.forEach((j, i) => {
        if (j >= 0) {
          data.set((src.data as Float32Array).subarray(j * rowLen, (j + 1) * rowLen), i * rowLen);
          hit++;
        }
      });
      if (hit) {
        p.assign(tf.tensor(data, p.shape));
        reused.push(`${n} (${hit}/${map.length} rows)`);
      }
    } else if (src.shape.join() === p.shape.join()) {
      p.assign(tf.tensor(src.data, src.shape, 'float32'));
      reused.push(n);
    }
  }
  return reused;
}
