/**
 * A frozen encoder's feature network from its raw artifacts (model.json and weight shards): a
 * TF.js layers model (a bare Keras base, or a Teachable Machine export that nests the base as its
 * first layer) cut at the feature node and run as a folded plan where it can be, or a graph model
 * executed up to that node; with a fingerprint of the weights it uses.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { planFolded } from './folded.ts';
import { invalidRequest } from '../../util/errors.ts';

/** Raw model artifacts read from disk or the network. */
export interface Artifacts {
  modelJson: {
    format?: string;
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  weightData: ArrayBuffer;
}

export function concat(buffers: Uint8Array[]): ArrayBuffer {
  const total = buffers.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of buffers) {
    out.set(b, o);
    o += b.byteLength;
  }
  return out.buffer;
}

export function isGraph(a: Artifacts): boolean {
  const topo = a.modelJson.modelTopology as { node?: unknown };
  return a.modelJson.format === 'graph-model' || Array.isArray(topo?.node);
}

/** Reads model.json plus its weight shards (in manifest order) from a folder. */
export function readModelFolder(dir: string): Artifacts {
  const mjPath = join(dir, 'model.json');
  if (!existsSync(mjPath))
    throw invalidRequest(`${dir} has no model.json (expected a TF.js layers or graph model folder)`);
  const modelJson = JSON.parse(readFileSync(mjPath, 'utf8')) as Artifacts['modelJson'];
  const shards: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest ?? []) {
    for (const p of group.paths) shards.push(readFileSync(join(dir, p)));
  }
  return { modelJson, weightData: concat(shards) };
}

function weightSpecs(a: Artifacts): tf.io.WeightsManifestEntry[] {
  return a.modelJson.weightsManifest.flatMap((g) => g.weights);
}

/** Finds the (possibly nested) sub-model holding `node`: a bare base or a TM export's first layer. */
function findLayerOwner(model: tf.LayersModel, node: string): tf.LayersModel | null {
  if (model.layers.some((l) => l.name === node)) return model;
  for (const l of model.layers) {
    if (l instanceof tf.LayersModel) {
      const inner = findLayerOwner(l, node);
      if (inner) return inner;
    }
  }
  return null;
}

/** Guess of A for a layers model: `out_relu`, else the last layer with a 4-D output. */
function guessLayerNode(model: tf.LayersModel): string {
  const flat: tf.layers.Layer[] = [];
  const walk = (m: tf.LayersModel) => {
    for (const l of m.layers) {
      if (l instanceof tf.LayersModel) walk(l);
      else flat.push(l);
    }
  };
  walk(model);
  if (flat.some((l) => l.name === 'out_relu')) return 'out_relu';
  for (let i = flat.length - 1; i >= 0; i--) {
    const shape = flat[i].outputShape as number[];
    if (Array.isArray(shape) && shape.length === 4 && typeof shape[3] === 'number') return flat[i].name;
  }
  throw invalidRequest('could not find a 4-D feature layer; name one with --feature-node');
}

/** Guess of A for a graph model: the input of the last average pool (or spatial mean). */
function guessGraphNode(a: Artifacts): string {
  const nodes = (a.modelJson.modelTopology as { node: { name: string; op: string; input?: string[] }[] })
    .node;
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (nodes[i].op === 'AvgPool' || nodes[i].op === 'Mean') return nodes[i].input![0].split(':')[0];
  }
  throw invalidRequest('could not find the feature node of this graph model; name one with --feature-node');
}

export interface FeatureNet {
  embed(x: tf.Tensor4D): tf.Tensor4D;
  fingerprint: string;
  shape: [number, number, number];
  dispose(): void;
}

function hashTensors(named: [string, tf.Tensor][]): string {
  const h = createHash('sha256');
  for (const [name, t] of named) {
    h.update(`${name}:${t.shape.join('x')}:${t.dtype}\n`);
    const d = t.dataSync() as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}

/**
 * Builds the frozen feature network from artifacts. The fingerprint covers only the layers up to
 * A, named by layer (not by TF.js variable names, which get uniquified per process), so a bare
 * Keras base and a Teachable Machine export of the same base have the same fingerprint.
 */
export async function buildFeatureNet(
  a: Artifacts,
  featureNode?: string,
  inputSize = 224,
): Promise<FeatureNet> {
  const io = tf.io.fromMemory({
    modelTopology: a.modelJson.modelTopology as object,
    weightSpecs: weightSpecs(a),
    weightData: a.weightData,
  });
  if (isGraph(a)) {
    const model = await tf.loadGraphModel(io);
    const node = featureNode ?? guessGraphNode(a);
    const inputName = model.inputs[0].name;
    const embed = (x: tf.Tensor4D) => model.execute({ [inputName]: x }, node) as tf.Tensor4D;
    const probe = tf.tidy(() => embed(tf.zeros([1, inputSize, inputSize, 3])));
    const shape = probe.shape.slice(1) as [number, number, number];
    probe.dispose();
    const named = Object.entries(model.weights)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => [k, v[0]] as [string, tf.Tensor]);
    return { embed, fingerprint: hashTensors(named), shape, dispose: () => model.dispose() };
  }
  const model = await tf.loadLayersModel(io);
  const node = featureNode ?? guessLayerNode(model);
  const owner = findLayerOwner(model, node);
  if (!owner) throw invalidRequest(`layer '${node}' not found in the model (nor in its nested first layer)`);
  const feat = tf.model({ inputs: owner.inputs, outputs: owner.getLayer(node).output as tf.SymbolicTensor });
  const named: [string, tf.Tensor][] = [];
  for (const l of feat.layers) l.getWeights().forEach((w, i) => named.push([`${l.name}/${i}`, w]));
  const shape = feat.outputs[0].shape.slice(1) as number[] as [number, number, number];
  const folded = planFolded(feat, node);
  return {
    embed: folded ? (x) => folded.embed(x) : (x) => feat.predict(x) as tf.Tensor4D,
    fingerprint: hashTensors(named),
    shape,
    dispose: () => {
      folded?.dispose();
      model.dispose();
    },
  };
}
