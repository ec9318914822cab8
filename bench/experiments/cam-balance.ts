/**
 * How large L_cam's pull on f_medi is against the pull of L_class + L_caption, at a trained medi
 * run (where cam's fine-tune starts): per training batch, the norms of the two gradients w.r.t.
 * medi.* (λ·∇L_cam and ∇(L_class + L_caption)) and their cosine. Adam scales each weight's step
 * by its gradient's running size, so where λ·∇L_cam dominates, f_medi follows L_cam whatever λ is.
 * Not part of `npm run bench`:
 *   PLUMAGE_BACKEND=node node --import tsx bench/experiments/cam-balance.ts HOME RUN[,RUN…] [LAMBDA] [--json]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/ml/backend.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { algorithm1Grads } from '../../src-main/ml/algorithm1.ts';
import { paramsFromTensors } from '../../src-main/ml/model.ts';
import { loadRunWeights } from '../../src-main/jobs/run-artifact.ts';
import { encodeCaption } from '../../src-main/jobs/train/dataset.ts';
import { regularisation } from '../../src-main/jobs/train/loop.ts';
import { runData } from './run-data.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const [home, runList, lambdaArg] = args.filter((a) => a !== '--json');
const lambda = lambdaArg ? Number(lambdaArg) : 0.1;
const ws = workspace(home);

const sumSq = (gs: tf.Tensor[]) => gs.reduce((s, g) => s + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]), 0);
const dot = (a: tf.Tensor[], b: tf.Tensor[]) => a.reduce((s, g, i) => s + tf.tidy(() => tf.sum(tf.mul(g, b[i])).dataSync()[0]), 0);

function balanceOf(run: string) {
  const { side, data, cache, index } = runData(ws, run);
  const tensors = loadRunWeights(ws, run);
  const { params } = paramsFromTensors(tensors, 'cam');
  const cfg = { ...side.config, variant: 'cam' as const };
  const rows = [];
  const B = 32;
  for (let start = 0; start + B <= data.train.length && rows.length < 4; start += B) {
    const exs = data.train.slice(start, start + B);
    const { data: A, shape } = cache.getBatch(exs.map((e) => e.hash));
    const T = cfg.maxLen;
    const caps = new Int32Array(B * T);
    exs.forEach((e, j) => caps.set(encodeCaption(e.captions[0] ?? '', index, T), j * T));
    const batch = {
      A: tf.tensor4d(A, shape as [number, number, number, number]),
      labels: tf.tensor1d(exs.map((e) => e.label), 'int32'),
      captions: tf.tensor2d(caps, [B, T], 'int32'),
    };
    const opts = { lambda, regularise: regularisation(cfg, rows.length), camTarget: cfg.camTarget, classWeight: cfg.classWeight };
    const all = algorithm1Grads(params, 'cam', batch, opts);
    const cam = algorithm1Grads(params, 'cam', batch, { ...opts, terms: 'cam' });
    const names = Object.keys(cam.grads).filter((n) => n.startsWith('medi.'));
    const gCam = names.map((n) => cam.grads[n]);
    const gTask = names.map((n) => tf.sub(all.grads[n], cam.grads[n]));
    const [nCam, nTask] = [Math.sqrt(sumSq(gCam)), Math.sqrt(sumSq(gTask))];
    rows.push({ l_cam: all.losses.cam, cam_norm: nCam, task_norm: nTask, ratio: nCam / nTask, cos: dot(gCam, gTask) / (nCam * nTask) });
    tf.dispose([...gTask, ...Object.values(all.grads), ...Object.values(cam.grads), batch.A, batch.labels, batch.captions]);
    for (const t of [all.classPred, all.predCaptions, cam.classPred, cam.predCaptions]) t?.dispose();
  }
  tf.dispose(Object.values(params));
  tf.dispose(Object.values(tensors));
  return { run, lambda, batches: rows };
}

const backend = await initBackend();
const out = runList.split(',').map(balanceOf);
if (json) console.log(JSON.stringify({ backend: backend.name, runs: out }));
else
  for (const r of out)
    for (const b of r.batches)
      console.log(`${r.run} λ ${r.lambda}: L_cam ${b.l_cam.toFixed(3)}  |λ∇L_cam| ${b.cam_norm.toExponential(2)}  |∇task| ${b.task_norm.toExponential(2)}  ratio ${b.ratio.toFixed(2)}  cos ${b.cos.toFixed(3)}`);
