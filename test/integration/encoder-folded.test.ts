/**
 * The folded inference plan of a layers encoder (batch norms folded into the convolutions, ReLU6
 * and zero padding fused) gives the layer-by-layer model's feature maps up to float32 rounding:
 * on the shared MobileNetV2 and on a small network that has every planned case (convolution
 * with a bias and no batch norm, a padding before a 'same' convolution, plain ReLU, a residual
 * add); a network with a layer kind the plan does not cover gets no plan.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/ml/backend.ts';
import { planFolded } from '../../src-main/ml/encoders/folded.ts';
import { readModelFolder } from '../../src-main/ml/encoders/feature-net.ts';
import { SHARED_ENCODER } from '../helpers/shared.ts';

beforeAll(async () => {
  await initBackend();
});

/** Largest |a − b| relative to the largest |a|. */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(a)).dataSync()[0]);
}

/** The plan's output and the model's own, for the same random batch. */
function compare(model: tf.LayersModel, output: string, x: tf.Tensor4D) {
  const plan = planFolded(model, output);
  expect(plan).not.toBeNull();
  const want = model.predict(x) as tf.Tensor;
  const got = plan!.embed(x);
  const out = { rel: relDiff(want, got), shape: got.shape, want: want.shape };
  tf.dispose([want, got]);
  plan!.dispose();
  return out;
}

/** Random weights everywhere (batch-norm variances positive), so no fold is trivially exact. */
function randomise(model: tf.LayersModel) {
  for (const l of model.layers) {
    l.setWeights(l.getWeights().map((w, i) => {
      const isVariance = l.getClassName() === 'BatchNormalization' && i === 3;
      return isVariance ? tf.randomUniform(w.shape, 0.5, 2, 'float32', 3) : tf.randomNormal(w.shape, 0, 0.5, 'float32', 5 + i);
    }));
  }
}

describe('folded encoder plan', () => {
  it('gives the shared MobileNetV2 feature maps of the layer-by-layer model', async () => {
    const a = readModelFolder(SHARED_ENCODER);
    const tm = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: a.modelJson.modelTopology as object,
        weightSpecs: a.modelJson.weightsManifest.flatMap((g) => g.weights),
        weightData: a.weightData,
      }),
    );
    const base = (tm.layers[0] as tf.LayersModel).layers[0] as tf.LayersModel;
    const feat = tf.model({ inputs: base.inputs, outputs: base.getLayer('out_relu').output as tf.SymbolicTensor });
    const x = tf.randomUniform([2, 224, 224, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
    const r = compare(feat, 'out_relu', x);
    expect(r.shape).toEqual([2, 7, 7, 1280]);
    expect(r.rel).toBeLessThan(1e-4);
    x.dispose();
    tm.dispose();
  });

  it('covers biases, a padding before a same convolution, plain ReLU and residual adds', () => {
    const input = tf.input({ shape: [17, 17, 3] });
    const pad = tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 2]] }).apply(input) as tf.SymbolicTensor;
    const c1 = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', useBias: true }).apply(pad) as tf.SymbolicTensor;
    const r1 = tf.layers.reLU().apply(c1) as tf.SymbolicTensor;
    const p2 = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(r1) as tf.SymbolicTensor;
    const d2 = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(p2) as tf.SymbolicTensor;
    const b2 = tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(d2) as tf.SymbolicTensor;
    const a2 = tf.layers.reLU({ maxValue: 6 }).apply(b2) as tf.SymbolicTensor;
    const c3 = tf.layers.conv2d({ filters: 6, kernelSize: 1, useBias: false }).apply(a2) as tf.SymbolicTensor;
    const b3 = tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(c3) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'sum' }).apply([a2, b3]) as tf.SymbolicTensor;
    const out = tf.layers.reLU({ maxValue: 6, name: 'out' }).apply(sum) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    randomise(model);
    const x = tf.randomUniform([3, 17, 17, 3], -1, 1, 'float32', 13) as tf.Tensor4D;
    const r = compare(model, 'out', x);
    expect(r.shape).toEqual(r.want);
    expect(r.rel).toBeLessThan(1e-5);
    x.dispose();
    model.dispose();
  });

  it('has no plan for a network with a layer kind it does not cover', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
    const m = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(c) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: m });
    expect(planFolded(model, 'pool')).toBeNull();
    model.dispose();
  });
});
