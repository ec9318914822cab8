/**
 * The training data of a run: labelled images of a split scheme with their accepted captions,
 * a validation part carved from train when the scheme has none, and the vocabulary helpers.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../../data/store.ts';
import { Mulberry32 as Rng } from '../../util/rng.ts';
import { buildVocab as vocabBuild, decode as vocabDecode, encode as vocabEncode } from '../../ml/vocab.ts';
import type { TrainConfig } from './config.ts';
import { unavailable } from '../../util/errors.ts';

/** The model's vocabulary rules (ml/vocab.ts): words by decreasing count, ties alphabetical. */
export function buildVocab(captions: string[], minCount = 1): string[] {
  return vocabBuild(captions, { minCount }).words;
}

/** <bos> words… <eos> <pad>…, length T (words truncated to T − 2). */
export function encodeCaption(text: string, index: Map<string, number>, T: number): Int32Array {
  return vocabEncode({ words: [], index, minCount: 1 }, text, T);
}

/** Token ids → text: stops at <eos>, skips <bos>/<pad>. */
export function decodeCaption(ids: ArrayLike<number>, vocab: string[]): string {
  return vocabDecode({ words: vocab, index: new Map(), minCount: 1 }, ids);
}

export interface Example {
  imageId: number;
  hash: string;
  label: number;
  captions: string[];
}

export interface Dataset {
  classes: { id: number; name: string }[];
  train: Example[];
  val: Example[];
  test: Example[];
  /** sha256 over the training + validation contents (image hashes, labels, captions). */
  version: string;
  splitNote: string;
}

export function loadDataset(db: Db, cfg: Pick<TrainConfig, 'split' | 'collectionId' | 'seed'>): Dataset {
  const rows = db
    .prepare(
      `SELECT i.id, i.content_hash AS hash, l.class_id AS classId, c.name AS className, s.part AS part
         FROM images i
         JOIN labels l ON l.image_id = i.id
         JOIN classes c ON c.id = l.class_id
         LEFT JOIN splits s ON s.image_id = i.id AND s.scheme = ?
        WHERE (? IS NULL OR i.collection_id = ?)
        ORDER BY i.id`,
    )
    .all(cfg.split, cfg.collectionId ?? null, cfg.collectionId ?? null) as {
    id: number;
    hash: string;
    classId: number;
    className: string;
    part: string | null;
  }[];
  if (!rows.length) {
    throw unavailable(
      'no photo has a species yet: give some photos a species first (in the app: the Species field of a photo, or several selected in the gallery; or import a dataset with species)',
    );
  }
  const caps = new Map<number, string[]>();
  for (const r of db
    .prepare(`SELECT image_id, text FROM captions WHERE deleted = 0 AND accepted = 1 ORDER BY image_id, ord`)
    .all() as { image_id: number; text: string }[]) {
    if (!caps.has(r.image_id)) caps.set(r.image_id, []);
    caps.get(r.image_id)!.push(r.text);
  }
  const classIds = [...new Set(rows.map((r) => r.classId))].sort((a, b) => a - b);
  const classIndex = new Map(classIds.map((id, i) => [id, i]));
  const names = new Map(rows.map((r) => [r.classId, r.className]));
  const classes = classIds.map((id) => ({ id, name: names.get(id)! }));
  const ex = (r: (typeof rows)[number]): Example => ({
    imageId: r.id,
    hash: r.hash,
    label: classIndex.get(r.classId)!,
    captions: caps.get(r.id) ?? [],
  });
  let train = rows.filter((r) => r.part === 'train').map(ex);
  const val = rows.filter((r) => r.part === 'val').map(ex);
  const test = rows.filter((r) => r.part === 'test').map(ex);
  let splitNote = `scheme '${cfg.split}'`;
  if (!train.length && !val.length && !test.length) {
    throw unavailable(`no images in split scheme '${cfg.split}' (run plumage split, or pass --split)`);
  }
  if (!val.length) {
    // Carve 10% of each class's training images (at least one where a class has 3+) for validation.
    const rng = new Rng(cfg.seed ^ 0x5eed);
    const byClass = new Map<number, Example[]>();
    for (const e of train) {
      if (!byClass.has(e.label)) byClass.set(e.label, []);
      byClass.get(e.label)!.push(e);
    }
    const keep: Example[] = [];
    for (const [, xs] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
      const s = rng.shuffle(xs);
      const n = xs.length >= 3 ? Math.max(1, Math.round(xs.length * 0.1)) : 0;
      val.push(...s.slice(0, n));
      keep.push(...s.slice(n));
    }
    train = keep.sort((a, b) => a.imageId - b.imageId);
    val.sort((a, b) => a.imageId - b.imageId);
    splitNote += ` (validation: 10% of train, seeded)`;
  }
  if (!train.length) throw unavailable(`split '${cfg.split}' has no training images`);
  const h = createHash('sha256');
  for (const e of [...train, ...val])
    h.update(`${e.hash}\t${classes[e.label].name}\t${e.captions.join('\u0001')}\n`);
  return { classes, train, val, test, version: h.digest('hex').slice(0, 16), splitNote };
}
