/**
 * TF.js's gradients of add, sub, mul and identity, less the kernels that change nothing: its
 * versions cast a float32 operand to float32 and reshape an unbroadcast gradient to the shape it
 * already has, only to get a fresh tensor. On tfjs-node each of those is a libtensorflow op of
 * its own (tens of µs), thousands per training step, where a clone is a reference count; on wasm
 * the cast copied the buffer. The values are the same; broadcast gradients are still summed and
 * reshaped as before, and every gradient stays differentiable (second order).
 */
import * as tf from '@tensorflow/tfjs';

type Grads = Record<string, () => tf.Tensor>;

/** A fresh tensor with dy's values in `shape`: summed over broadcast axes where `shape` was broadcast. */
function unbroadcast(dy: tf.Tensor, shape: number[], outShape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, outShape);
  if (axes.length > 0) return tf.reshape(tf.sum(dy, axes), shape);
  return tf.util.arraysEqual(dy.shape, shape) ? tf.clone(dy) : tf.reshape(dy, shape);
}

const asFloat = (x: tf.Tensor) => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));

function binaryShapes(saved: tf.Tensor[]) {
  const [a, b] = saved;
  return { a, b, out: tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape) };
}

const addGrad = (dy: tf.Tensor, saved: tf.Tensor[]): Grads => {
  const { a, b, out } = binaryShapes(saved);
  return { a: () => unbroadcast(dy, a.shape, out), b: () => unbroadcast(dy, b.shape, out) };
};

const subGrad = (dy: tf.Tensor, saved: tf.Tensor[]): Grads => {
  const { a, b, out } = binaryShapes(saved);
  return { a: () => unbroadcast(dy, a.shape, out), b: () => tf.neg(unbroadcast(dy, b.shape, out)) };
};

/** d(a·b) = dy·b and dy·a: the product is already a fresh tensor, so only broadcasts need more. */
const mulGrad = (dy: tf.Tensor, saved: tf.Tensor[]): Grads => {
  const { a, b, out } = binaryShapes(saved);
  const part = (other: tf.Tensor, shape: number[]) => {
    const g = tf.mul(dy, asFloat(other));
    const axes = tf.backend_util.getReductionAxes(shape, out);
    return axes.length > 0 ? tf.reshape(tf.sum(g, axes), shape) : g;
  };
  return { a: () => part(b, a.shape), b: () => part(a, b.shape) };
};

const identityGrad = (dy: tf.Tensor): Grads => ({
  x: () => (dy.dtype === 'float32' ? tf.clone(dy) : tf.cast(dy, 'float32')),
});

const LEAN: [string, string[], (dy: tf.Tensor, saved: tf.Tensor[]) => Grads][] = [
  ['Add', ['a', 'b'], addGrad],
  ['Sub', ['a', 'b'], subGrad],
  ['Multiply', ['a', 'b'], mulGrad],
  ['Identity', [], identityGrad],
];
/** TF.js's own configs, kept so that tests and A/B timings can switch back. */
const original = new Map<string, tf.GradConfig>();

/** Installs the lean gradients (`on`, the default) or TF.js's own again. */
export function useLeanGradients(on = true): void {
  for (const [kernelName, inputsToSave, gradFunc] of LEAN) {
    if (!original.has(kernelName)) original.set(kernelName, tf.getGradient(kernelName)!);
    const lean = { kernelName, inputsToSave, gradFunc: gradFunc as tf.GradConfig['gradFunc'] };
    tf.registerGradient(on ? lean : original.get(kernelName)!);
  }
}
