/**
 * One LSTM layer over all steps with a hand-written backward pass (BPTT) AND a hand-written
 * gradient of that backward pass, so it is exact to second order: the captioner Grad-CAM of a
 * training step differentiates its own backward pass (docs/model.md "How the second-order
 * gradient is made correct").
 *
 * Why: autodiff through T−1 separate steps computes the recurrent weight's gradient as T−1 small
 * [4Hd,B]×[B,Hd] products (k = B: slow on libtensorflow) and adds them one by one; here the gate
 * gradients of all steps are concatenated and the weight gradient is one [4Hd,N]×[N,Hd] product.
 * And the tape's second-order pass through the step-by-step layer is ~200 small kernels per step
 * (each op of each step's backward differentiated again); the hand-written one is ~16 per step,
 * the rest done once over the whole sequence.
 *
 * Gate order i, f, g, o (PyTorch nn.LSTM); h0 = c0 = 0. Notation (per step t): gates
 * i, f, u (= tanh g), o; cell c; k = tanh(c); state s = o·k. The BPTT for an upstream dS is
 *   ds_t = dS_t + dG_{t+1} W,   dc_t = ds_t·a_t + dc_{t+1}·f_{t+1},   dG_t = [dc,dc,dc,ds]_t ⊙ J_t
 * with a = o(1−k²) and J = [u·σ'(i), c_{t−1}·σ'(f), i(1−u²), k·σ'(o)] (σ'(y) = y(1−y)).
 */
import * as tf from '@tensorflow/tfjs';
import { mm, mmNT, mmOperand, mmTN, sigmoidGradOf, tanhGradOf } from './ops.ts';

/** The forward pass, off the tape: states, gate activations [i,f,u,o] and cells, [B,T,·] each. */
function forward(xg: tf.Tensor3D, W: tf.Tensor2D) {
  const S: tf.Tensor[] = [];
  const acts: tf.Tensor[] = [];
  const cells: tf.Tensor[] = [];
  const WT = mmOperand(W);
  for (const x of tf.unstack(xg, 1)) {
    const t = S.length;
    const g = t > 0 ? tf.add(x, mmNT(S[t - 1], W, WT)) : x;
    const [gi, gf, gg, go] = tf.split(g, 4, 1);
    const [i, f, u, o] = [tf.sigmoid(gi), tf.sigmoid(gf), tf.tanh(gg), tf.sigmoid(go)];
    const c = t > 0 ? tf.add(tf.mul(f, cells[t - 1]), tf.mul(i, u)) : tf.mul(i, u);
    cells.push(c);
    acts.push(tf.concat([i, f, u, o], 1));
    S.push(tf.mul(o, tf.tanh(c)));
  }
  return { S: tf.stack(S, 1) as tf.Tensor3D, acts: tf.stack(acts, 1), cells: tf.stack(cells, 1) };
}

/** x shifted one step along time (axis 1), zero-filled: later [0, x_0, …, x_{T−2}], earlier [x_1, …, x_{T−1}, 0]. */
function shifted(x: tf.Tensor, step: 'later' | 'earlier'): tf.Tensor {
  const [B, T, H] = x.shape as [number, number, number];
  if (T < 2) return tf.zerosLike(x);
  const isLater = step === 'later';
  const kept = tf.slice(x, [0, isLater ? 0 : 1, 0], [B, T - 1, H]);
  return tf.pad(kept, [
    [0, 0],
    isLater ? [1, 0] : [0, 1],
    [0, 0],
  ]);
}
const later = (x: tf.Tensor) => shifted(x, 'later');
const earlier = (x: tf.Tensor) => shifted(x, 'earlier');

/** The activations and the BPTT's coefficients a and J (see the header), whole sequence. */
function coefficients(acts: tf.Tensor, cells: tf.Tensor) {
  const [i, f, u, o] = tf.split(acts, 4, 2);
  const k = tf.tanh(cells);
  const cPrev = later(cells);
  const J = tf.concat([sigmoidGradOf(i, u), sigmoidGradOf(f, cPrev), tanhGradOf(u, i), sigmoidGradOf(o, k)], 2);
  return { i, f, u, o, k, cPrev, J, a: tanhGradOf(k, o) };
}

type Coefficients = ReturnType<typeof coefficients>;

/** g ⊙ [σ'(i), σ'(f), 1−u², σ'(o)]: adjoints of the activations [B,T,4Hd] taken to the gates' inputs. */
function throughActivations(co: Coefficients, g: tf.Tensor): tf.Tensor {
  const [gi, gf, gu, go] = tf.split(g, 4, 2);
  return tf.concat([sigmoidGradOf(co.i, gi), sigmoidGradOf(co.f, gf), tanhGradOf(co.u, gu), sigmoidGradOf(co.o, go)], 2);
}

/** Per-step slices (time axis 1) of the recursion's coefficients. */
function perStep(co: Coefficients) {
  return { J: tf.unstack(co.J, 1), a: tf.unstack(co.a, 1), f: tf.unstack(co.f, 1) };
}

/**
 * The BPTT recursion backward in time, with optional extra adjoints per step added to ds (eS),
 * dc (eC) and dG (eG): the first-order pass has eS = dS only; in the outer pass of a second
 * order the activations and cells have adjoints of their own (from the BPTT that used them).
 */
function reverse(
  W: tf.Tensor2D,
  st: ReturnType<typeof perStep>,
  e: { S?: tf.Tensor[]; C?: tf.Tensor[]; G?: tf.Tensor[] },
): { dG: tf.Tensor[]; ds: tf.Tensor[]; dc: tf.Tensor[] } {
  const T = st.J.length;
  const dG: tf.Tensor[] = new Array(T);
  const ds: tf.Tensor[] = new Array(T);
  const dc: tf.Tensor[] = new Array(T);
  for (let t = T - 1; t >= 0; t--) {
    const next = t < T - 1 ? mm(dG[t + 1], W) : null;
    ds[t] = next && e.S ? tf.add(e.S[t], next) : (next ?? e.S?.[t] ?? tf.zerosLike(st.a[t]));
    const cTerms = [tf.mul(ds[t], st.a[t]), ...(e.C ? [e.C[t]] : []), ...(t < T - 1 ? [tf.mul(dc[t + 1], st.f[t + 1])] : [])];
    dc[t] = cTerms.length === 1 ? cTerms[0] : tf.addN(cTerms);
    const g = tf.mul(tf.concat([dc[t], dc[t], dc[t], ds[t]], 1), st.J[t]);
    dG[t] = e.G ? tf.add(g, e.G[t]) : g;
  }
  return { dG, ds, dc };
}

const LSTM = 'PlumageLstm';
const BPTT = 'PlumageLstmBptt';
const registered = new Set<string>();
let gradientsRegistered = false;

/**
 * Two kernels of our own, pure TF.js ops inside (so any backend), each with a hand-written
 * gradient: the layer (inputs xg, W; outputs the states and, for the gradient, the activations
 * and cells) and its BPTT (inputs the upstream dS, W, the activations and cells, and in the
 * outer pass of a second order their adjoints; outputs dG [B,T,4Hd] and the recursion's ds, dc).
 * The activations and cells are outputs, so the adjoints the BPTT's gradient gives them reach the
 * layer's gradient, which takes them back through the forward in the same recursion as dS.
 */
function ensureKernels(): void {
  const backendName = tf.getBackend();
  if (registered.has(backendName)) return;
  tf.registerKernel({
    kernelName: LSTM,
    backendName,
    kernelFunc: ({ inputs }) =>
      tf.tidy(() => {
        const fw = forward(inputs.xg as tf.Tensor3D, inputs.W as tf.Tensor2D);
        return [fw.S, fw.acts, fw.cells];
      }) as unknown as tf.TensorInfo[],
  });
  tf.registerKernel({
    kernelName: BPTT,
    backendName,
    kernelFunc: ({ inputs }) =>
      tf.tidy(() => {
        const { dy, W, acts, cells, ga, gc } = inputs as Record<string, tf.Tensor>;
        const co = coefficients(acts, cells);
        const e = { S: tf.unstack(dy, 1), ...(gc ? { C: tf.unstack(gc, 1) } : {}) };
        const G = ga ? { G: tf.unstack(throughActivations(co, ga), 1) } : {};
        const { dG, ds, dc } = reverse(W as tf.Tensor2D, perStep(co), { ...e, ...G });
        // ds and dc are only read by the gradient, which exists only where this is recorded
        const kept = recorded() ? [tf.stack(ds, 1), tf.stack(dc, 1)] : [tf.zeros([0]), tf.zeros([0])];
        return [tf.stack(dG, 1), ...kept];
      }) as unknown as tf.TensorInfo[],
  });
  registered.add(backendName);
  registerGradients();
}

/**
 * Whether this TF.js engine keeps the gradient depth and the active tape where the layer's
 * second-order pass reads them (engine internals of TF.js 4.x); without them the callers keep
 * the step-by-step LSTM for passes that are differentiated twice.
 */
export function secondOrderLayerSupported(): boolean {
  const state = tf.engine().state as unknown as { gradientDepth?: unknown; activeTape?: unknown };
  if (typeof state.gradientDepth !== 'number') return false;
  // the tape exists only while a gradient is being recorded (as it is when this is asked)
  return state.gradientDepth === 0 || Array.isArray(state.activeTape);
}

/** Whether ops now run on a tape that is itself inside a gradient (a second order may follow). */
const nested = () => (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth >= 2;
const recorded = () => (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;

function registerGradients(): void {
  if (gradientsRegistered) return;
  tf.registerGradient({
    kernelName: LSTM,
    inputsToSave: ['W'],
    outputsToSave: [true, true, true],
    gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const [dS, gA, gC] = dys as tf.Tensor[];
      const [W, S, acts, cells] = saved;
      // the activations' adjoints are zeros unless the layer ran inside a gradient (a second
      // order) and this is the outer pass; the BPTT of the inner pass is recorded without them
      const outer = !!attrs?.nested && !recorded();
      const dG = bptt({ dy: dS, W, acts, cells, ...(outer ? { ga: gA, gc: gC } : {}) });
      return { xg: () => dG, W: () => weightGradient(dG, S, attrs?.weightRows as number) };
    },
  });
  tf.registerGradient({
    kernelName: BPTT,
    inputsToSave: ['W', 'acts', 'cells'],
    outputsToSave: [true, true, true],
    gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      // the second-order pass is not itself recorded: a third order would silently be wrong
      if (recorded()) throw new Error('lstmLayer: exact to second order only');
      const [W, acts, cells, dG, ds, dc] = saved;
      const adj = tf.tidy(() => secondOrder((dys as tf.Tensor[])[0], W as tf.Tensor2D, acts, cells, ds, dc));
      const T = dG.shape[1] as number;
      return {
        dy: () => adj.dS,
        acts: () => adj.acts,
        cells: () => adj.cells,
        // ds_t = dS_t + dG_{t+1} W, every row
        W: () => (T < 2 ? tf.zerosLike(W) : mmTN(steps(dG, 1, -1), steps(adj.dS, 0, -1))),
        ga: () => {
          throw new Error('lstmLayer: the outer BPTT is not recorded');
        },
        gc: () => {
          throw new Error('lstmLayer: the outer BPTT is not recorded');
        },
      };
    },
  });
  gradientsRegistered = true;
}

/** Steps from..from+T−2 of x [B,T,n] for the first `rows` batch rows (all when < 0), as [rows·(T−1), n]. */
function steps(x: tf.Tensor, from: number, rows: number): tf.Tensor2D {
  const [B, T, n] = x.shape as [number, number, number];
  const r = rows < 0 || rows > B ? B : rows;
  return tf.slice(x, [0, from, 0], [r, T - 1, n]).reshape([r * (T - 1), n]);
}

/** dWhh = Σ_t dG_tᵀ s_{t−1} over the first `rows` batch rows: every step in one product. */
function weightGradient(dG: tf.Tensor, S: tf.Tensor, rows: number): tf.Tensor {
  const [, T, G4] = dG.shape as [number, number, number];
  if (T < 2) return tf.zeros([G4, G4 / 4]);
  return mmTN(steps(dG, 1, rows), steps(S, 0, rows));
}

/**
 * The adjoints of the BPTT's inputs for an upstream gG of its dG: a recursion forward in time
 * (the BPTT's own, transposed) gives the adjoints of ds and dc, hence of dS; the adjoints of the
 * activations and cells that the BPTT's use of them implies are returned as they are, for the
 * layer's gradient to take back through the forward.
 */
function secondOrder(gG: tf.Tensor, W: tf.Tensor2D, acts: tf.Tensor, cells: tf.Tensor, ds: tf.Tensor, dc: tf.Tensor) {
  const co = coefficients(acts, cells);
  const st = perStep(co);
  const T = st.J.length;
  const WT = mmOperand(W);
  const gs = tf.unstack(gG, 1);
  const hatG: tf.Tensor[] = [];
  const barS: tf.Tensor[] = [];
  const barC: tf.Tensor[] = [];
  for (let t = 0; t < T; t++) {
    hatG.push(t > 0 ? tf.add(gs[t], mmNT(barS[t - 1], W, WT)) : gs[t]);
    const [pi, pf, pu, po] = tf.split(tf.mul(hatG[t], st.J[t]), 4, 1);
    barC.push(tf.addN([pi, pf, pu, ...(t > 0 ? [tf.mul(barC[t - 1], st.f[t])] : [])]));
    barS.push(tf.add(po, tf.mul(barC[t], st.a[t])));
  }
  return { dS: tf.stack(barS, 1), ...activationAdjoints(co, tf.stack(hatG, 1), tf.stack(barC, 1), ds, dc) };
}

/** The adjoints of the activations [i,f,u,o] and cells that the BPTT's use of them implies. */
function activationAdjoints(co: Coefficients, hatG: tf.Tensor, barC: tf.Tensor, ds: tf.Tensor, dc: tf.Tensor) {
  const { i, f, u, o, k, cPrev } = co;
  const [gi, gf, gu, go] = tf.split(hatG, 4, 2);
  const twice = (x: tf.Tensor) => tf.mul(x, 2);
  // d/dy of the σ'(y) = y(1−y) and tanh'(y) = 1−y² factors: 1−2y and −2y
  const iBar = tf.mul(dc, tf.add(tf.mul(tf.mul(gi, u), tf.sub(1, twice(i))), tanhGradOf(u, gu)));
  const uBar = tf.mul(dc, tf.sub(sigmoidGradOf(i, gi), twice(tf.mul(tf.mul(gu, i), u))));
  const fBar = tf.mul(dc, tf.add(tf.mul(tf.mul(gf, cPrev), tf.sub(1, twice(f))), later(barC)));
  const oBar = tf.mul(ds, tf.add(tf.mul(tf.mul(go, k), tf.sub(1, twice(o))), tanhGradOf(k, barC)));
  const kBar = tf.mul(ds, tf.sub(sigmoidGradOf(o, go), twice(tf.mul(tf.mul(barC, o), k))));
  // c_{t−1} in J_f of step t; k = tanh(c) in J_o and a
  const cBar = earlier(tf.mul(dc, sigmoidGradOf(f, gf)));
  return { acts: tf.concat([iBar, fBar, uBar, oBar], 2), cells: tf.add(cBar, tanhGradOf(k, kBar)) };
}

/** The BPTT kernel's dG [B,T,4Hd] (on the tape when recorded, so differentiable again). */
function bptt(inputs: Record<string, tf.Tensor>): tf.Tensor3D {
  ensureKernels();
  return (tf.engine().runKernel(BPTT, inputs) as unknown as tf.Tensor[])[0] as tf.Tensor3D;
}

/**
 * States [B,T,Hd] of an LSTM layer whose gate inputs `xg` [B,T,4Hd] (x_t W_ihᵀ + b_ih + b_hh)
 * are computed for all steps beforehand, with recurrent weight `Whh` [4Hd,Hd]. Gradients w.r.t.
 * xg and Whh, exact to second order. `weightRows`: only the first weightRows batch rows reach
 * Whh's gradient (ops.ts mmNT).
 */
export function lstmLayer(xg: tf.Tensor3D, Whh: tf.Tensor2D, weightRows = -1): tf.Tensor3D {
  ensureKernels();
  const tape = (tf.engine().state as unknown as { activeTape: unknown[] | null }).activeTape;
  const before = tape?.length ?? 0;
  const out = tf.engine().runKernel(LSTM, { xg, W: Whh }, { weightRows, nested: nested() }) as unknown as tf.Tensor[];
  // TF.js records the copies of an op's saved outputs before the op itself; the layer's gradient
  // uses those copies on the tape (the BPTT's inputs, for a second order), so the op must come
  // first or the adjoints they receive arrive after the op's gradient has run
  if (tape && tape.length > before + 1) tape.splice(before, 0, tape.pop());
  return out[0] as tf.Tensor3D;
}
