/**
 * Pointing-game experiment for curator masks (issue 6). For each seed it trains the same variant
 * twice with the product's training job (jobs/train/loop.ts runTraining: same seed, so the same
 * initial weights, batch order and caption draws) — once without masks (μ = 0, the paper) and
 * once with μ > 0 and masks (painted ones from the DB where they exist, else generated from the
 * visible part locations: `--part-masks`) — and evaluates both runs with the product's
 * evaluation (jobs/evaluate.ts evaluateRun: top-1 and the pointing game of docs/evaluation.md,
 * unchanged). Prints every run and the mean ± sample standard deviation over seeds.
 *
 *   node --import tsx bench/mask-pointing.ts --home H --split official --seeds 1,2,3 \
 *     [--variant cam] [--epochs 15] [--batch 32] [--lr 0.1] [--optimizer sgd] [--dims small] \
 *     [--mu 1] [--sigma 0.05] [--json]
 *
 * H must hold an imported collection with part locations and cached features (plumage import +
 * plumage extract); both runs of a seed use the same encoder (`--encoder`, else the one
 * runTraining picks).
 */
import { parseArgs } from 'node:util';
import { getRun } from '../src-main/data/runs.ts';
import { openDb } from '../src-main/data/store.ts';
import { workspace } from '../src-main/data/workspace.ts';
import { evaluateRun, pointingHit } from '../src-main/jobs/evaluate.ts';
import type { DimsPreset, OptimizerName, TrainConfig } from '../src-main/jobs/train/config.ts';
import { runTraining } from '../src-main/jobs/train/loop.ts';
import type { Variant } from '../src-main/ml/model.ts';

const { values } = parseArgs({
  options: {
    home: { type: 'string' },
    split: { type: 'string', default: 'default' },
    variant: { type: 'string', default: 'cam' },
    encoder: { type: 'string' },
    epochs: { type: 'string', default: '15' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '0.1' },
    optimizer: { type: 'string', default: 'sgd' },
    dims: { type: 'string', default: 'small' },
    patience: { type: 'string', default: '100' },
    mu: { type: 'string', default: '1' },
    sigma: { type: 'string', default: '0.05' },
    seeds: { type: 'string', default: '1,2,3' },
    grid: { type: 'string', default: '7' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.home)
  throw new Error('--home H (a workspace with an imported collection with parts and cached features)');
const seeds = values.seeds!.split(',').map(Number);
const mu = Number(values.mu);
const sigma = Number(values.sigma);

interface Row {
  seed: number;
  masks: boolean;
  run: string;
  best_epoch: number;
  top1: number | null;
  pointing: number | null;
  n_pointing: number;
  /** mean training L_mask of the first and the last epoch (0 without masks) */
  mask_loss: [number, number];
  /** mean training L_cam of the first and the last epoch */
  cam_loss: [number, number];
  seconds: number;
}

/** First and last epoch's mean training loss `k` from the run record. */
function lossEnds(runId: string, k: string): [number, number] {
  const db = openDb(workspace(values.home!).dbPath);
  try {
    const ep = getRun(db, runId)!.epochs as { loss: Record<string, number> }[];
    return [ep[0]?.loss[k] ?? NaN, ep[ep.length - 1]?.loss[k] ?? NaN];
  } finally {
    db.close();
  }
}

async function one(seed: number, withMasks: boolean): Promise<Row> {
  const config: Partial<TrainConfig> & { variant: Variant } = {
    variant: values.variant as Variant,
    encoder: values.encoder,
    split: values.split,
    epochs: Number(values.epochs),
    batch: Number(values.batch),
    lr: Number(values.lr),
    optimizer: values.optimizer as OptimizerName,
    dims: values.dims as DimsPreset,
    patience: Number(values.patience),
    seed,
    mu: withMasks ? mu : 0,
    partMasks: withMasks,
    partSigma: sigma,
  };
  const t0 = Date.now();
  const res = await runTraining({
    home: values.home!,
    config,
    onEvent: (e) => {
      if (e.type === 'log') process.stderr.write(`  ${e.message}\n`);
    },
  });
  if (res.status !== 'done') throw new Error(`run ${res.run} ended ${res.status}: ${res.error ?? ''}`);
  const ev = await evaluateRun({ home: values.home!, runId: res.run });
  const row: Row = {
    seed,
    masks: withMasks,
    run: res.run,
    best_epoch: res.best_epoch + 1,
    top1: ev.top1,
    pointing: ev.pointing,
    n_pointing: ev.n_pointing,
    mask_loss: lossEnds(res.run, 'mask'),
    cam_loss: lossEnds(res.run, 'cam'),
    seconds: (Date.now() - t0) / 1000,
  };
  process.stderr.write(`${JSON.stringify(row)}\n`);
  return row;
}

/**
 * Reference point for the scores: the pointing game of a constant CAM that always peaks at the
 * centre cell of the grid (birds are often photographed centred), on the same test images.
 */
function centreBaseline(G: number): number | null {
  const db = openDb(workspace(values.home!).dbPath);
  try {
    const ims = db
      .prepare(
        `SELECT i.id, i.width, i.height FROM images i JOIN splits s ON s.image_id = i.id
         WHERE s.scheme = ? AND s.part = 'test'`,
      )
      .all(values.split) as { id: number; width: number; height: number }[];
    const partsOf = db.prepare('SELECT x, y FROM part_locations WHERE image_id = ? AND visible = 1');
    const cam = new Float32Array(G * G);
    cam[Math.floor(G / 2) * G + Math.floor(G / 2)] = 1;
    let n = 0;
    let hits = 0;
    for (const im of ims) {
      const parts = (partsOf.all(im.id) as { x: number; y: number }[]).map(
        (p) => [p.x, p.y] as [number, number],
      );
      if (!parts.length) continue;
      n++;
      if (pointingHit(cam, G, G, im.width, im.height, parts).hit) hits++;
    }
    return n ? hits / n : null;
  } finally {
    db.close();
  }
}
const centre = centreBaseline(Number(values.grid));
process.stderr.write(`centre-cell baseline pointing: ${centre}\n`);

const rows: Row[] = [];
for (const seed of seeds) {
  rows.push(await one(seed, false));
  rows.push(await one(seed, true));
}

const stats = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: m, sd, min: Math.min(...xs), max: Math.max(...xs) };
};
const summary = (masks: boolean) => {
  const rs = rows.filter((r) => r.masks === masks);
  return {
    pointing: stats(rs.map((r) => r.pointing ?? NaN)),
    top1: stats(rs.map((r) => r.top1 ?? NaN)),
  };
};
const out = {
  home: values.home,
  split: values.split,
  variant: values.variant,
  epochs: Number(values.epochs),
  mu,
  sigma,
  seeds,
  centre_baseline_pointing: centre,
  runs: rows,
  without_masks: summary(false),
  with_masks: summary(true),
  pointing_delta_per_seed: seeds.map((s) => {
    const a = rows.find((r) => r.seed === s && !r.masks)!;
    const b = rows.find((r) => r.seed === s && r.masks)!;
    return (b.pointing ?? NaN) - (a.pointing ?? NaN);
  }),
};
if (values.json) console.log(JSON.stringify(out));
else {
  const f = (x: number | null) => (x === null ? '-' : x.toFixed(3));
  console.log(`centre-cell baseline pointing: ${f(centre)}`);
  console.log('seed  masks  run                     best  top-1   pointing  (n)');
  for (const r of rows)
    console.log(
      `${String(r.seed).padEnd(5)} ${(r.masks ? 'yes' : 'no').padEnd(6)} ${r.run.padEnd(23)} ${String(r.best_epoch).padEnd(5)} ${f(r.top1)}   ${f(r.pointing)}     ${r.n_pointing}`,
    );
  for (const m of [false, true]) {
    const s = summary(m);
    console.log(
      `${m ? 'with masks   ' : 'without masks'}: pointing ${s.pointing.mean.toFixed(3)} ± ${s.pointing.sd.toFixed(3)}  top-1 ${s.top1.mean.toFixed(3)} ± ${s.top1.sd.toFixed(3)}`,
    );
  }
}
