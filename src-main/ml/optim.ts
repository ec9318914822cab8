/**
 * Optimisers over Params + gradients (by parameter name): SGD (the paper's: lr 0.1), SGD with
 * momentum, Adam. The update is applied in place to the tf.Variables; the optimiser state is a
 * plain record of tensors so a checkpoint can store it (optimStateTensors) and resume exactly.
 * Weight decay is decoupled (AdamW, Loshchilov & Hutter): it shrinks the weights directly instead
 * of entering the gradient, so Adam's per-weight scaling does not weaken it where gradients are large.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from './model.ts';

export interface OptimConfig {
  kind: 'sgd' | 'momentum' | 'adam';
  lr: number;
  /** momentum coefficient (default 0.9) */
  momentum?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /**
   * Decoupled weight decay (default 0): before the update every weight matrix and embedding
   * (rank ≥ 2) that had a gradient is multiplied by 1 − lr·weightDecay; biases are not decayed.
   */
  weightDecay?: number;
  /**
   * Rate multipliers per module, by the parameter name's first part (e.g. `{ cls: 0.1 }`: the
   * classifier's weights at a tenth of the rate; weight decay follows the scaled rate); others 1.
   */
  lrScale?: Record<string, number>;
}

export interface OptimState {
  step: number;
  /** name → momentum buffer (momentum) or [m, v] (adam) */
  slots: Record<string, tf.Tensor[]>;
}

export function createOptimState(): OptimState {
  return { step: 0, slots: {} };
}

/** One update of every parameter that has a gradient. Gradients are not disposed. */
export function applyGrads(
  params: Params,
  grads: Record<string, tf.Tensor>,
  cfg: OptimConfig,
  state: OptimState,
): void {
  state.step += 1;
  const t = state.step;
  for (const [name, g] of Object.entries(grads)) {
    const p = params[name];
    if (!p) throw new Error(`gradient for unknown parameter ${name}`);
    const lr = cfg.lr * (cfg.lrScale?.[name.split('.')[0]] ?? 1);
    tf.tidy(() => {
      // before the step, as torch.optim.AdamW does
      if (cfg.weightDecay && p.rank >= 2) p.assign(tf.mul(p, 1 - lr * cfg.weightDecay));
      if (cfg.kind === 'sgd') {
        p.assign(tf.sub(p, tf.mul(g, lr)));
      } else if (cfg.kind === 'momentum') {
        const prev = state.slots[name]?.[0];
        const buf = prev ? tf.add(tf.mul(prev, cfg.momentum ?? 0.9), g) : tf.clone(g);
        p.assign(tf.sub(p, tf.mul(buf, lr)));
        prev?.dispose();
        state.slots[name] = [tf.keep(buf)];
      } else {
        const b1 = cfg.beta1 ?? 0.9;
        const b2 = cfg.beta2 ?? 0.999;
        const eps = cfg.eps ?? 1e-8;
        const [m0, v0] = state.slots[name] ?? [tf.zerosLike(p), tf.zerosLike(p)];
        const m = tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2));
        const mHat = tf.div(m, 1 - Math.pow(b1, t));
        const vHat = tf.div(v, 1 - Math.pow(b2, t));
        p.assign(tf.sub(p, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), eps)), lr)));
        m0.dispose();
        v0.dispose();
        state.slots[name] = [tf.keep(m), tf.keep(v)];
      }
    });
  }
}

/** Flat name → tensor view of the state (for a checkpoint): `<param>#<slot>`, plus `#step`. */
export function optimStateTensors(state: OptimState): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = { '#step': tf.scalar(state.step, 'int32') };
  for (const [n, slots] of Object.entries(state.slots)) slots.forEach((s, i) => (out[`${n}#${i}`] = s));
  return out;
}

export function optimStateFromTensors(t: Record<string, tf.Tensor>): OptimState {
  const state: OptimState = { step: t['#step'] ? t['#step'].dataSync()[0] : 0, slots: {} };
  for (const [k, v] of Object.entries(t)) {
    const m = /^(.*)#(\d+)$/.exec(k);
    if (!m) continue;
    (state.slots[m[1]] ??= [])[Number(m[2])] = tf.clone(v);
  }
  return state;
}

export function disposeOptimState(state: OptimState): void {
  for (const s of Object.values(state.slots)) s.forEach((x) => x.dispose());
  state.slots = {};
}
