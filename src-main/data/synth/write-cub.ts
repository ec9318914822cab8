/**
 * Writes a synthetic bird dataset in exactly the CUB-200-2011 layout (plus Reed's text_c10
 * captions as a sibling folder), and synth.json with the ground truth of every image.
 *
 *   DIR/CUB_200_2011/{images.txt, classes.txt, image_class_labels.txt, train_test_split.txt,
 *                     bounding_boxes.txt, attributes.txt, parts/parts.txt, parts/part_locs.txt,
 *                     images/<NNN.Species_Name>/<Species_Name_XXXX>.jpg}
 *   DIR/text_c10/<NNN.Species_Name>/<Species_Name_XXXX>.txt      (10 captions each)
 *   DIR/synth.json
 *
 * Every random choice is drawn from a PRNG seeded by (seed, species, image), so the output does
 * not depend on timing or concurrency: the same options give the same bytes in every file.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, MAX_SPECIES, speciesTable, type BirdAttributes } from './attributes.ts';
import { captionsFor } from './captions.ts';
import { drawBird, PART_NAMES, type PartLoc, type Pose } from './draw.ts';
import { Sfc32 } from '../../util/rng.ts';
import { conflict, invalidRequest } from '../../util/errors.ts';

export interface SynthOptions {
  /** Output folder; CUB_200_2011/, text_c10/ and synth.json are written inside it. */
  out: string;
  /** Number of species (1..200). */
  species: number;
  /** Images per species (>= 1). */
  perSpecies: number;
  /** Image side in pixels (32..1024); images are square. */
  size: number;
  /** PRNG seed (any integer). */
  seed: number;
  /** JPEG quality (default 90). */
  quality?: number;
}

export interface SynthSummary {
  out: string;
  images: number;
  species: number;
  captions: number;
}

export interface SynthImageRecord {
  id: number;
  /** Path relative to CUB_200_2011/images/ (as in images.txt). */
  file: string;
  species: number;
  train: boolean;
  /** Attribute values drawn in this image (all of them are visible in the side view). */
  attributes: BirdAttributes;
  bbox: [number, number, number, number];
  pose: Pose;
}

export const CAPTIONS_PER_IMAGE = 10;
export const SYNTH_LIMITS = { species: [1, MAX_SPECIES], perSpecies: [1, 100_000], size: [32, 1024] } as const;

/** Returns why the options are invalid, or undefined when they are fine. */
export function checkSynthOptions(o: Partial<SynthOptions>): string | undefined {
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
  if (!o.out) return '--out DIR is required';
  if (!isInt(o.species) || o.species < SYNTH_LIMITS.species[0] || o.species > SYNTH_LIMITS.species[1])
    return `--species must be an integer from 1 to ${MAX_SPECIES}`;
  if (!isInt(o.perSpecies) || o.perSpecies < 1 || o.perSpecies > SYNTH_LIMITS.perSpecies[1])
    return `--per-species must be an integer from 1 to ${SYNTH_LIMITS.perSpecies[1]}`;
  if (!isInt(o.size) || o.size < SYNTH_LIMITS.size[0] || o.size > SYNTH_LIMITS.size[1])
    return `--size must be an integer from ${SYNTH_LIMITS.size[0]} to ${SYNTH_LIMITS.size[1]} (pixels)`;
  if (!isInt(o.seed) || Math.abs(o.seed) > 2 ** 53) return '--seed must be an integer';
  return undefined;
}

/** CUB writes coordinates as floats with one decimal ("112.0"). */
function f1(v: number): string {
  return (Math.round(v * 10) / 10).toFixed(1);
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Encodes one raw RGB image as a baseline JPEG (no metadata, so the bytes depend only on the pixels). */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality = 90): Promise<Buffer> {
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
}

/**
 * Generates the dataset. `onProgress(done, total)` is called after each image is written.
 * A previous `plumage synth` output in the same folder is replaced; any other CUB_200_2011/ or
 * text_c10/ there is left alone and reported as an error.
 */
export async function writeSynth(opts: SynthOptions, onProgress?: (done: number, total: number) => void): Promise<SynthSummary> {
  const problem = checkSynthOptions(opts);
  if (problem) throw invalidRequest(problem);
  const { out, size, seed, perSpecies } = opts;
  const quality = opts.quality ?? 90;
  const cubDir = join(out, 'CUB_200_2011');
  const textDir = join(out, 'text_c10');
  const manifest = join(out, 'synth.json');
  if (existsSync(manifest)) {
    await rm(cubDir, { recursive: true, force: true });
    await rm(textDir, { recursive: true, force: true });
    await rm(manifest, { force: true });
  } else if (existsSync(cubDir) || existsSync(textDir)) {
    throw conflict(`${out} already holds a CUB_200_2011/ or text_c10/ folder that plumage synth did not write; choose an empty --out folder`);
  }

  const species = speciesTable().slice(0, opts.species);
  const total = species.length * perSpecies;
  await mkdir(join(cubDir, 'parts'), { recursive: true });
  for (const s of species) {
    await mkdir(join(cubDir, 'images', s.folder), { recursive: true });
    await mkdir(join(textDir, s.folder), { recursive: true });
  }

  const imagesTxt: string[] = [];
  const labelsTxt: string[] = [];
  const splitTxt: string[] = [];
  const boxesTxt: string[] = [];
  const partLocsTxt: string[] = [];
  const records: SynthImageRecord[] = [];

  // JPEG encoding and file writes run on libuv's threads while the next image is drawn here.
  const inflight: Promise<unknown>[] = [];
  const maxInflight = 6;
  let done = 0;
  let id = 0;
  for (const s of species) {
    // A stratified split: half of each species (rounded up) is training data, as in CUB.
    const order = new Sfc32(seed, s.id, 0, 3).shuffled(Array.from({ length: perSpecies }, (_, i) => i + 1));
    const trainSet = new Set(order.slice(0, Math.ceil(perSpecies / 2)));
    for (let k = 1; k <= perSpecies; k++) {
      id++;
      const name = `${s.fileStem}_${String(k).padStart(4, '0')}`;
      const file = `${s.folder}/${name}.jpg`;
      const img = drawBird(s.attributes, size, new Sfc32(seed, s.id, k, 1));
      const captions = captionsFor(s.attributes, new Sfc32(seed, s.id, k, 2), CAPTIONS_PER_IMAGE);
      const train = trainSet.has(k);

      imagesTxt.push(`${id} ${file}`);
      labelsTxt.push(`${id} ${s.id}`);
      splitTxt.push(`${id} ${train ? 1 : 0}`);
      boxesTxt.push(`${id} ${img.bbox.map(f1).join(' ')}`);
      PART_NAMES.forEach((p, i) => {
        const [x, y, v]: PartLoc = img.parts[p];
        partLocsTxt.push(`${id} ${i + 1} ${f1(x)} ${f1(y)} ${v}`);
      });
      records.push({
        id,
        file,
        species: s.id,
        train,
        attributes: { ...s.attributes },
        bbox: img.bbox,
        pose: {
          scale: round3(img.pose.scale),
          tilt: round3(img.pose.tilt),
          flipped: img.pose.flipped,
          brightness: round3(img.pose.brightness),
          tint: round3(img.pose.tint),
        },
      });

      const job = Promise.all([
        encodeJpeg(img.rgb, img.width, img.height, quality).then((jpg) => writeFile(join(cubDir, 'images', file), jpg)),
        writeFile(join(textDir, s.folder, `${name}.txt`), captions.join('\n') + '\n'),
      ]).then(() => {
        done++;
        onProgress?.(done, total);
      });
      inflight.push(job);
      if (inflight.length >= maxInflight) await inflight.shift();
    }
  }
  await Promise.all(inflight);

  const lines = (a: string[]) => a.join('\n') + '\n';
  const attrLines: string[] = [];
  for (const a of ATTRIBUTE_NAMES) for (const v of ATTRIBUTE_VALUES[a]) attrLines.push(`${attrLines.length + 1} has_${a}::${v}`);
  await Promise.all([
    writeFile(join(cubDir, 'images.txt'), lines(imagesTxt)),
    writeFile(join(cubDir, 'classes.txt'), lines(species.map((s) => `${s.id} ${s.folder}`))),
    writeFile(join(cubDir, 'image_class_labels.txt'), lines(labelsTxt)),
    writeFile(join(cubDir, 'train_test_split.txt'), lines(splitTxt)),
    writeFile(join(cubDir, 'bounding_boxes.txt'), lines(boxesTxt)),
    writeFile(join(cubDir, 'attributes.txt'), lines(attrLines)),
    writeFile(join(cubDir, 'parts', 'parts.txt'), lines(PART_NAMES.map((p, i) => `${i + 1} ${p}`))),
    writeFile(join(cubDir, 'parts', 'part_locs.txt'), lines(partLocsTxt)),
  ]);
  const manifestJson = {
    generator: 'plumage synth',
    format: 1,
    seed,
    options: { species: opts.species, per_species: perSpecies, size, seed, quality },
    captions_per_image: CAPTIONS_PER_IMAGE,
    parts: PART_NAMES,
    attributes: ATTRIBUTE_VALUES,
    species: species.map((s) => ({
      id: s.id,
      name: s.name,
      folder: s.folder,
      attributes: s.attributes,
      ...(s.siblingOf ? { sibling_of: s.siblingOf } : {}),
    })),
    images: records,
  };
  await writeFile(manifest, JSON.stringify(manifestJson, null, 1) + '\n');
  return { out, images: total, species: species.length, captions: total * CAPTIONS_PER_IMAGE };
}
