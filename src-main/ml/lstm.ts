/**
 * One LSTM layer over all steps with a hand-written backward pass (BPTT), for a path that is
 * differentiated ONCE (L_caption's own pass in training). The step-by-step layer in model.ts stays
 * for Grad-CAM, whose backward pass is itself differentiated (second order) and so must be built
 * from twice-differentiable ops; this one is a tf.customGrad, exact to first order only.
 *
 * Why: autodiff through T−1 separate steps computes the recurrent weight's gradient as T−1 small
 * [4Hd,B]×[B,Hd] products (k = B: slow on libtensorflow) and adds them one by one (T−2 adds of a
 * [4Hd,Hd] matrix). Here the gate gradients of all steps are concatenated and the weight gradient
 * is one [4Hd,N]×[N,Hd] product; the activation derivatives reuse the saved activations instead
 * of recomputing sigmoid/tanh from their inputs.
 *
 * Gate order i, f, g, o (PyTorch nn.LSTM); h0 = c0 = 0.
 */
import * as tf from '@tensorflow/tfjs';
import { mm, mmNT, mmTN, sigmoidGradOf, tanhGradOf } from './ops.ts';

type Save = (ts: tf.Tensor[]) => void;

/** What the backward pass needs of one step: state, cell, tanh(cell), gate activations. */
interface Step {
  s: tf.Tensor;
  c: tf.Tensor;
  tc: tf.Tensor;
  i: tf.Tensor;
  f: tf.Tensor;
  u: tf.Tensor;
  o: tf.Tensor;
}
const FIELDS = ['s', 'c', 'tc', 'i', 'f', 'u', 'o'] as const;

/** The forward pass, off the tape (inside the customGrad). */
function forward(xg: tf.Tensor3D, W: tf.Tensor2D): Step[] {
  const out: Step[] = [];
  for (const x of tf.unstack(xg, 1)) {
    const prev = out[out.length - 1];
    const g = prev ? tf.add(x, mmNT(prev.s, W)) : x;
    const [gi, gf, gg, go] = tf.split(g, 4, 1);
    const i = tf.sigmoid(gi);
    const f = tf.sigmoid(gf);
    const u = tf.tanh(gg);
    const o = tf.sigmoid(go);
    const c = prev ? tf.add(tf.mul(f, prev.c), tf.mul(i, u)) : tf.mul(i, u);
    const tc = tf.tanh(c);
    out.push({ s: tf.mul(o, tc), c, tc, i, f, u, o });
  }
  return out;
}


/** BPTT: the gate pre-activation gradients of every step, for upstream dS [B,T,Hd]. */
function gateGrads(dS: tf.Tensor3D, steps: Step[], W: tf.Tensor2D): tf.Tensor[] {
  const dSs = tf.unstack(dS, 1);
  const dG: tf.Tensor[] = new Array(steps.length);
  let dsNext: tf.Tensor | null = null;
  let dcNext: tf.Tensor | null = null;
  for (let t = steps.length - 1; t >= 0; t--) {
    const { tc, i, f, u, o } = steps[t];
    const ds: tf.Tensor = dsNext ? tf.add(dSs[t], dsNext) : dSs[t];
    // activation derivatives from the saved activations (one libtensorflow op each on tfjs-node)
    const dcOwn = tanhGradOf(tc, tf.mul(ds, o));
    const dc: tf.Tensor = dcNext ? tf.add(dcOwn, dcNext) : dcOwn;
    dG[t] = tf.concat(
      [
        sigmoidGradOf(i, tf.mul(dc, u)),
        t > 0 ? sigmoidGradOf(f, tf.mul(dc, steps[t - 1].c)) : tf.zerosLike(f),
        tanhGradOf(u, tf.mul(dc, i)),
        sigmoidGradOf(o, tf.mul(ds, tc)),
      ],
      1,
    );
    if (t > 0) {
      dsNext = mm(dG[t], W);
      dcNext = tf.mul(dc, f);
    }
  }
  return dG;
}

/**
 * States [B,T,Hd] of an LSTM layer whose gate inputs `xg` [B,T,4Hd] (x_t W_ihᵀ + b_ih + b_hh)
 * are computed for all steps beforehand, with recurrent weight `Whh` [4Hd,Hd]. First-order
 * gradients w.r.t. xg and Whh.
 */
export function lstmLayer(xg: tf.Tensor3D, Whh: tf.Tensor2D): tf.Tensor3D {
  const T = xg.shape[1];
  const f = tf.customGrad(((x: tf.Tensor3D, W: tf.Tensor2D, save: Save) => {
    const steps = forward(x, W);
    // saved, not closed over: a closure's tensors are disposed when the forward's scope ends
    save([W, ...steps.flatMap((st) => FIELDS.map((k) => st[k]))]);
    return {
      value: tf.stack(
        steps.map((st) => st.s),
        1,
      ),
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [Wv, ...flat] = saved as [tf.Tensor2D, ...tf.Tensor[]];
        const steps: Step[] = Array.from(
          { length: T },
          (_, t) => Object.fromEntries(FIELDS.map((k, j) => [k, flat[t * FIELDS.length + j]])) as unknown as Step,
        );
        const dG = gateGrads(dy, steps, Wv);
        const dx = tf.stack(dG, 1);
        if (T < 2) return [dx, tf.zerosLike(Wv)];
        // dWhh = Σ_t dG_tᵀ s_{t−1}: every step in one product (rows time-major on both sides)
        const dW = mmTN(
          tf.concat(dG.slice(1), 0),
          tf.concat(
            steps.slice(0, -1).map((st) => st.s),
            0,
          ),
        );
        return [dx, dW];
      },
    };
  }) as never) as unknown as (x: tf.Tensor3D, W: tf.Tensor2D) => tf.Tensor3D;
  return f(xg, Whh);
}
