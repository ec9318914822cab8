/** Masks of the training images for the μ·L_mask term: painted ones, else generated from parts. */
import { areaAverage, maskGrid, PART_SIGMA, partMaskGrid } from '../../data/masks.ts';
import type { Db } from '../../data/store.ts';
import { hasMedi } from '../../ml/model.ts';
import type { TrainConfig } from './config.ts';

/**
 * Masks of the training images at the feature map's resolution (H×W, values 0–1) for the
 * μ·L_mask term (docs/design.md: The model, beyond the paper): the curator-painted mask (area average, the same
 * reading as the heat-map view's), else — with `partMasks` — one generated from the visible part
 * locations. Images with neither are absent from the map, so their rows carry no mask term.
 * Only read when μ > 0. Returns the map and how many masks came from parts.
 */
export async function loadMasks(
  db: Db,
  imageIds: number[],
  H: number,
  W: number,
  o: { partMasks?: boolean; partSigma?: number } = {},
): Promise<{ masks: Map<number, Float32Array>; painted: number; fromParts: number }> {
  const masks = new Map<number, Float32Array>();
  let painted = 0;
  let fromParts = 0;
  for (const id of imageIds) {
    let m: Float32Array | null;
    try {
      m = maskGrid(db, id, H, W);
    } catch {
      // not the stored 8-bit grey form (written by other tools or an older version): decode with sharp
      m = await anyPngMaskGrid(db, id, H, W);
    }
    if (m) painted++;
    else if (o.partMasks) {
      m = partMaskGrid(db, id, H, W, o.partSigma ?? PART_SIGMA);
      if (m) fromParts++;
    }
    if (m) masks.set(id, m);
  }
  return { masks, painted, fromParts };
}

/** A mask PNG of any colour type at H×W: its alpha channel when it has one, else its grey value. */
async function anyPngMaskGrid(db: Db, id: number, H: number, W: number): Promise<Float32Array | null> {
  const r = db.prepare('SELECT png FROM masks WHERE image_id = ?').get(id) as { png: Buffer } | undefined;
  if (!r) return null;
  const sharp = (await import('sharp')).default;
  const meta = await sharp(r.png).metadata();
  const img = sharp(r.png);
  const { data, info } = await (
    meta.hasAlpha ? img.extractChannel('alpha') : img.greyscale().extractChannel(0)
  )
    .raw()
    .toBuffer({ resolveWithObject: true });
  return areaAverage(
    new Uint8Array(data.buffer, data.byteOffset, data.length),
    info.width,
    info.height,
    H,
    W,
  );
}

/**
 * The masks a run trains with (only when μ > 0 and the variant has f_medi), with a log line of
 * where they came from and a warning when the μ term cannot do anything.
 */
export async function trainingMasks(
  db: Db,
  cfg: Pick<TrainConfig, 'mu' | 'variant' | 'partMasks' | 'partSigma'>,
  imageIds: number[],
  featureShape: [number, number, number],
  report: { log: (message: string) => void; warn: (w: string) => void },
): Promise<Map<number, Float32Array>> {
  if (!(cfg.mu > 0)) return new Map();
  if (!hasMedi(cfg.variant)) {
    report.warn(`--mu has no effect on the ${cfg.variant} variant (no f_medi)`);
    return new Map();
  }
  const ids = [...new Set(imageIds)];
  const m = await loadMasks(db, ids, featureShape[0], featureShape[1], { partMasks: cfg.partMasks, partSigma: cfg.partSigma });
  report.log(`masks: ${m.painted} painted, ${m.fromParts} from part locations, of ${imageIds.length} training images`);
  if (!m.masks.size)
    report.warn(
      cfg.partMasks
        ? '--mu is set but no training image has a painted mask or visible parts'
        : '--mu is set but no training image has a painted mask (--part-masks generates them from part locations)',
    );
  return m.masks;
}
