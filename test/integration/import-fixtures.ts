/**
 * Tiny datasets written by the tests themselves (sharp-generated JPEGs), in the CUB-200-2011 and
 * plain-folder layouts. Not a test file: imported by import-*.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/** A small JPEG whose colour depends on `seed`, so every file has distinct bytes. */
export function jpeg(seed: number, width = 32, height = 24): Promise<Buffer> {
  const r = (seed * 53) % 256;
  const g = (seed * 97 + 40) % 256;
  const b = (seed * 29 + 90) % 256;
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

export function write(path: string, data: string | Uint8Array) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

const temps: string[] = [];
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `plumage-${prefix}-`));
  temps.push(d);
  return d;
}
export function cleanTemps() {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface CubFixture {
  /** The folder holding CUB_200_2011/ and text_c10/ (the layout `plumage synth` writes). */
  out: string;
  root: string;
  classes: string[];
  /** images.txt entries: id, path relative to images/, class index (0-based). */
  images: { id: number; rel: string; cls: number }[];
}

/** A CUB-layout dataset: `species` classes × `perSpecies` JPEGs, 10 captions each, parts and boxes. */
export async function makeCub(species = 3, perSpecies = 4, extra?: { captions?: boolean }): Promise<CubFixture> {
  const out = tempDir('cub');
  const root = join(out, 'CUB_200_2011');
  const classes = Array.from({ length: species }, (_, i) => `${String(i + 1).padStart(3, '0')}.Species_${String.fromCharCode(65 + i)}`);
  const images: CubFixture['images'] = [];
  let id = 1;
  for (let c = 0; c < species; c++) {
    for (let k = 0; k < perSpecies; k++) {
      const rel = `${classes[c]}/Species_${String.fromCharCode(65 + c)}_${String(k + 1).padStart(4, '0')}.jpg`;
      images.push({ id, rel, cls: c });
      write(join(root, 'images', rel), await jpeg(id));
      if (extra?.captions !== false) {
        const caps = Array.from({ length: 10 }, (_, j) => `bird ${id} of species ${String.fromCharCode(65 + c)} caption ${j + 1}`);
        write(join(out, 'text_c10', rel.replace(/\.jpg$/, '.txt')), caps.join('\n') + '\n');
      }
      id++;
    }
  }
  write(join(root, 'classes.txt'), classes.map((n, i) => `${i + 1} ${n}`).join('\n') + '\n');
  write(join(root, 'images.txt'), images.map((m) => `${m.id} ${m.rel}`).join('\n') + '\n');
  write(join(root, 'image_class_labels.txt'), images.map((m) => `${m.id} ${m.cls + 1}`).join('\n') + '\n');
  write(join(root, 'train_test_split.txt'), images.map((m) => `${m.id} ${m.id % 2}`).join('\n') + '\n');
  write(join(root, 'bounding_boxes.txt'), images.map((m) => `${m.id} 1.0 2.0 20.0 15.0`).join('\n') + '\n');
  write(join(root, 'parts', 'parts.txt'), '1 crown\n2 left eye\n3 tail\n');
  write(
    join(root, 'parts', 'part_locs.txt'),
    images.flatMap((m) => [`${m.id} 1 10.0 5.0 1`, `${m.id} 2 12.0 6.0 1`, `${m.id} 3 0.0 0.0 0`]).join('\n') + '\n',
  );
  return { out, root, classes, images };
}
