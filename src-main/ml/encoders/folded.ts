/**
 * A faster inference plan for a Keras layers feature network (MobileNet-style: convolutions,
 * batch norms, ReLU6, zero padding, residual adds). TF.js runs such a model layer by layer, and at
 * inference a BatchNormalization is a full pass over the activations and ReLU(max 6) three more
 * (relu, then clip = max and min); on tfjs-node they cost more than the convolutions. Here each
 * batch norm that follows a convolution is folded into its weights and bias, the ReLU6 becomes the
 * convolution's fused activation, and a zero padding before a 'valid' convolution becomes the
 * convolution's own explicit padding. The result equals the layer-by-layer model up to float32
 * rounding (test/integration/extract-encoders.test.ts compares them).
 *
 * Layer configs are read as TF.js gives them (camelCase). Only the layer kinds and settings
 * listed here are planned; a network with anything else gets
 * no plan (null) and keeps running through TF.js layers.
 */
import * as tf from '@tensorflow/tfjs';

type Activation = 'linear' | 'relu' | 'relu6';

/** One operation of the plan: reads the named outputs of earlier ones. */
interface PlanOp {
  name: string;
  inputs: string[];
  run(xs: tf.Tensor4D[]): tf.Tensor4D;
  /** Tensors this op owns (folded weights), disposed with the plan. */
  weights: tf.Tensor[];
}

export interface FoldedNet {
  embed(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

interface LayerInfo {
  layer: tf.layers.Layer;
  kind: string;
  config: Record<string, unknown>;
  inputs: string[];
}

/** The layer graph by name (inputs by layer name), or null if a layer has several call sites. */
function layerGraph(model: tf.LayersModel): Map<string, LayerInfo> | null {
  const out = new Map<string, LayerInfo>();
  for (const layer of model.layers) {
    const nodes = (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes;
    if (nodes.length !== 1) return null;
    out.set(layer.name, {
      layer,
      kind: layer.getClassName(),
      config: layer.getConfig() as Record<string, unknown>,
      inputs: nodes[0].inboundLayers.map((l) => l.name),
    });
  }
  return out;
}

/** How many layers read each layer's output (the model output counts as one reader). */
function readers(graph: Map<string, LayerInfo>, output: string): Map<string, number> {
  const n = new Map<string, number>([[output, 1]]);
  for (const info of graph.values()) for (const i of info.inputs) n.set(i, (n.get(i) ?? 0) + 1);
  return n;
}

/** The activation of a ReLU layer, if it is a plain ReLU or ReLU6. */
function reluKind(c: Record<string, unknown>): Activation | null {
  if (c.maxValue == null) return 'relu';
  return c.maxValue === 6 ? 'relu6' : null;
}

const channelsLast = (c: Record<string, unknown>) => (c.dataFormat ?? 'channelsLast') === 'channelsLast';
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v as number, v as number]);

/** Batch-norm scale and shift: y = x·scale + shift. */
function bnAffine(bn: LayerInfo): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  const c = bn.config;
  const w = [...bn.layer.getWeights()];
  // weights in order: gamma (if scale), beta (if center), moving mean, moving variance
  const gamma = c.scale ? w.shift()! : null;
  const beta = c.center ? w.shift()! : null;
  const [mean, variance] = w;
  return tf.tidy(() => {
    let scale = tf.rsqrt(tf.add(variance, c.epsilon as number));
    if (gamma) scale = tf.mul(scale, gamma);
    let shift = tf.neg(tf.mul(mean, scale));
    if (beta) shift = tf.add(shift, beta);
    return { scale: scale as tf.Tensor1D, shift: shift as tf.Tensor1D };
  });
}

/** A convolution with its batch norm, ReLU and preceding zero padding folded in. */
function convOp(
  name: string,
  input: string,
  conv: LayerInfo,
  bn: LayerInfo | null,
  act: Activation,
  pad: [[number, number], [number, number]] | null,
): PlanOp | null {
  const c = conv.config;
  const depthwise = conv.kind === 'DepthwiseConv2D';
  if (!channelsLast(c) || (c.activation ?? 'linear') !== 'linear') return null;
  if (pair(c.dilationRate ?? 1).some((d) => d !== 1)) return null;
  if (depthwise && (c.depthMultiplier ?? 1) !== 1) return null;
  if (pad ? c.padding !== 'valid' : c.padding !== 'valid' && c.padding !== 'same') return null;
  const [kernel, convBias] = conv.layer.getWeights();
  const affine = bn ? bnAffine(bn) : null;
  const filter = tf.tidy(() => {
    if (!affine) return tf.clone(kernel) as tf.Tensor4D;
    // depthwise kernel [kh, kw, C, 1]: its channel axis is 2, a conv kernel's output axis is 3
    return tf.mul(kernel, depthwise ? tf.reshape(affine.scale, [1, 1, -1, 1]) : affine.scale) as tf.Tensor4D;
  });
  let bias: tf.Tensor1D | null = null;
  if (affine)
    bias = tf.tidy(() => (convBias ? tf.add(tf.mul(convBias, affine.scale), affine.shift) : tf.clone(affine.shift)) as tf.Tensor1D);
  else if (convBias) bias = tf.clone(convBias) as tf.Tensor1D;
  if (affine) tf.dispose([affine.scale, affine.shift]);
  const strides = pair(c.strides ?? 1);
  // TF.js takes explicit padding [[0,0],[top,bottom],[left,right],[0,0]] (its fused ops' types
  // list only 'valid' | 'same' | number, but both backends pass it to their convolutions)
  const padding = (pad ? [[0, 0], pad[0], pad[1], [0, 0]] : c.padding) as 'valid';
  const args = { filter, bias: bias ?? undefined, strides, pad: padding, activation: act };
  const run = depthwise
    ? ([x]: tf.Tensor4D[]) => tf.fused.depthwiseConv2d({ x, ...args })
    : ([x]: tf.Tensor4D[]) => tf.fused.conv2d({ x, ...args });
  return { name, inputs: [input], run, weights: bias ? [filter, bias] : [filter] };
}

/** Consumes `name` if it is the only reader of `from` and of `kind`. */
function follower(graph: Map<string, LayerInfo>, reads: Map<string, number>, from: string, kinds: string[]) {
  if (reads.get(from) !== 1) return null;
  for (const info of graph.values()) if (info.inputs.includes(from) && kinds.includes(info.kind)) return info;
  return null;
}

/**
 * Builds the plan for `model` (a functional model up to the feature layer `output`), or null
 * when it holds a layer kind or setting the plan does not cover.
 */
export function planFolded(model: tf.LayersModel, output: string): FoldedNet | null {
  const graph = layerGraph(model);
  if (!graph || model.inputs.length !== 1) return null;
  const reads = readers(graph, output);
  const ops: PlanOp[] = [];
  /** Layer name → the name of the plan output that holds its value (folded layers map forward). */
  const alias = new Map<string, string>();
  const src = (n: string) => alias.get(n) ?? n;
  const done = new Set<string>();
  let inputName = '';
  const fail = () => {
    for (const op of ops) tf.dispose(op.weights);
    return null;
  };
  for (const info of graph.values()) {
    const name = info.layer.name;
    if (done.has(name)) continue;
    done.add(name);
    const c = info.config;
    if (info.kind === 'InputLayer') {
      inputName = name;
      continue;
    }
    let op: PlanOp | null = null;
    if (info.kind === 'ZeroPadding2D' || info.kind === 'Conv2D' || info.kind === 'DepthwiseConv2D') {
      let pad: [[number, number], [number, number]] | null = null;
      let conv = info;
      if (info.kind === 'ZeroPadding2D') {
        if (!channelsLast(c)) return fail();
        const next = follower(graph, reads, name, ['Conv2D', 'DepthwiseConv2D']);
        if (!next || next.config.padding !== 'valid') {
          const p = c.padding as [[number, number], [number, number]];
          op = { name, inputs: [src(info.inputs[0])], run: ([x]) => tf.pad(x, [[0, 0], p[0], p[1], [0, 0]]), weights: [] };
          ops.push(op);
          continue;
        }
        pad = c.padding as [[number, number], [number, number]];
        conv = next;
        done.add(conv.layer.name);
        alias.set(name, conv.layer.name);
      }
      let last = conv.layer.name;
      const bn = follower(graph, reads, last, ['BatchNormalization']);
      if (bn && (bn.config.axis === -1 || bn.config.axis === 3)) {
        done.add(bn.layer.name);
        alias.set(last, bn.layer.name);
        last = bn.layer.name;
      }
      let act: Activation = 'linear';
      const relu = follower(graph, reads, last, ['ReLU']);
      const kind = relu ? reluKind(relu.config) : null;
      if (relu && kind) {
        act = kind;
        done.add(relu.layer.name);
        alias.set(last, relu.layer.name);
        last = relu.layer.name;
      }
      op = convOp(last, src(info.inputs[0]), conv, bn && done.has(bn.layer.name) ? bn : null, act, pad);
    } else if (info.kind === 'ReLU') {
      const kind = reluKind(c);
      if (kind) op = { name, inputs: [src(info.inputs[0])], run: ([x]) => (kind === 'relu6' ? tf.relu6(x) : tf.relu(x)), weights: [] };
    } else if (info.kind === 'Add') {
      op = { name, inputs: info.inputs.map(src), run: (xs) => tf.addN(xs), weights: [] };
    }
    if (!op) return fail();
    ops.push(op);
  }
  if (!inputName || !ops.some((o) => o.name === src(output))) return fail();
  return runner(ops, inputName, src(output));
}

/** Runs the ops in order, freeing each intermediate after its last reader. */
function runner(ops: PlanOp[], inputName: string, output: string): FoldedNet {
  const lastUse = new Map<string, number>();
  ops.forEach((op, i) => op.inputs.forEach((n) => lastUse.set(n, i)));
  return {
    embed(x) {
      const values = new Map<string, tf.Tensor4D>([[inputName, x]]);
      ops.forEach((op, i) => {
        values.set(op.name, op.run(op.inputs.map((n) => values.get(n)!)));
        for (const n of op.inputs)
          if (lastUse.get(n) === i && n !== inputName && n !== output) values.get(n)!.dispose();
      });
      return values.get(output)!;
    },
    dispose() {
      for (const op of ops) tf.dispose(op.weights);
    },
  };
}
