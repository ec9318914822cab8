import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE_NAMES, PALETTE, speciesTable, type BirdAttributes } from '../../src-main/data/synth/attributes.ts';
import { checkSynthOptions, writeSynth } from '../../src-main/data/synth/write-cub.ts';
import { sharedPath } from '../helpers/shared.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const refCub = sharedPath('ref-data/cub-200-2011');

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'plumage-synth-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const read = (p: string) => readFileSync(p, 'utf8');
const lines = (p: string) => read(p).split('\n').filter((l) => l.length > 0);

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(root);
  return out;
}

/** One hash over every file's relative path and bytes. */
function treeHash(root: string): string {
  const h = createHash('sha256');
  for (const f of listFiles(root)) {
    h.update(relative(root, f) + '\0');
    h.update(readFileSync(f));
  }
  return h.digest('hex');
}

interface Manifest {
  seed: number;
  options: { species: number; per_species: number; size: number };
  parts: string[];
  species: Array<{ id: number; name: string; folder: string; attributes: BirdAttributes }>;
  images: Array<{ id: number; file: string; species: number; train: boolean; attributes: BirdAttributes; bbox: number[]; pose: { brightness: number; tint: number; flipped: boolean } }>;
}

// --- an independent reading of the captions: which attribute values does a sentence claim? ---
const COLOR_WORDS = new Set(Object.keys(PALETTE));
const NOUN_ATTR: Record<string, { attr: keyof BirdAttributes; group: string }> = {
  crown: { attr: 'crown_color', group: 'crown' },
  crowned: { attr: 'crown_color', group: 'crown' },
  crest: { attr: 'crown_color', group: 'crest' },
  wings: { attr: 'wing_color', group: 'wing' },
  winged: { attr: 'wing_color', group: 'wing' },
  breast: { attr: 'breast_color', group: 'breast' },
  chest: { attr: 'breast_color', group: 'breast' },
  breasted: { attr: 'breast_color', group: 'breast' },
  belly: { attr: 'belly_color', group: 'belly' },
  bellied: { attr: 'belly_color', group: 'belly' },
  tail: { attr: 'tail_color', group: 'tail' },
  tailed: { attr: 'tail_color', group: 'tail' },
  legs: { attr: 'leg_color', group: 'legs' },
  feet: { attr: 'leg_color', group: 'legs' },
  bill: { attr: 'bill_color', group: 'bill' },
  beak: { attr: 'bill_color', group: 'bill' },
  billed: { attr: 'bill_color', group: 'bill' },
  ring: { attr: 'eye_ring', group: 'eye_ring' },
  rings: { attr: 'eye_ring', group: 'eye_ring' },
};
const SHAPE_WORDS: Record<string, Record<string, [keyof BirdAttributes, string]>> = {
  tail: { long: ['tail_shape', 'long'], forked: ['tail_shape', 'forked'], rounded: ['tail_shape', 'rounded'], short: ['tail_shape', 'rounded'] },
  bill: { long: ['bill_shape', 'long'], short: ['bill_shape', 'short'], stubby: ['bill_shape', 'short'], conical: ['bill_shape', 'short'], hooked: ['bill_shape', 'hooked'], hook: ['bill_shape', 'hooked'] },
  wing: { striped: ['wing_pattern', 'striped'], streaked: ['wing_pattern', 'striped'], spotted: ['wing_pattern', 'spotted'], speckled: ['wing_pattern', 'spotted'] },
  breast: { striped: ['breast_pattern', 'striped'], streaked: ['breast_pattern', 'striped'], spotted: ['breast_pattern', 'spotted'], speckled: ['breast_pattern', 'spotted'] },
};
const SIZE_WORDS: Record<string, string> = { small: 'small', tiny: 'small', medium: 'medium', large: 'large', big: 'large' };

/** Returns the problems of one caption against the drawn attributes, and the attribute groups it mentions. */
function checkCaption(text: string, a: BirdAttributes): { problems: string[]; groups: Set<string> } {
  const t = text.toLowerCase().match(/[a-z]+/g) ?? [];
  const problems: string[] = [];
  const groups = new Set<string>();
  const nextNoun = (i: number, within: number) => {
    for (let j = i + 1; j <= Math.min(t.length - 1, i + within); j++) if (NOUN_ATTR[t[j]]) return j;
    return -1;
  };
  for (let i = 0; i < t.length; i++) {
    const w = t[i];
    if (NOUN_ATTR[w]) groups.add(NOUN_ATTR[w].group);
    if (w === 'crest' || w === 'crested') {
      groups.add('crest');
      if (a.crest !== 'yes') problems.push(`mentions a crest: ${text}`);
    }
    if ((w === 'ring' || w === 'rings') && a.eye_ring === 'none') problems.push(`mentions an eye ring: ${text}`);
    if (COLOR_WORDS.has(w)) {
      let j = -1;
      if (t[i - 1] === 'is' || t[i - 1] === 'are') {
        for (let k = i - 2; k >= 0; k--) if (NOUN_ATTR[t[k]]) { j = k; break; }
      } else j = nextNoun(i, 3);
      if (j < 0) { problems.push(`colour '${w}' not attached to a part: ${text}`); continue; }
      const { attr } = NOUN_ATTR[t[j]];
      if (a[attr] !== w) problems.push(`says ${t[j]} is ${w} but ${attr} is ${a[attr]}: ${text}`);
    }
    if (SIZE_WORDS[w] && (t[i + 1] === 'bird' || t[i + 1] === 'sized')) {
      groups.add('size');
      if (a.size !== SIZE_WORDS[w]) problems.push(`says ${w} but size is ${a.size}: ${text}`);
    }
    for (const [group, words] of Object.entries(SHAPE_WORDS)) {
      if (!words[w]) continue;
      const j = nextNoun(i, 3);
      if (j < 0 || NOUN_ATTR[t[j]].group !== group) continue;
      const [attr, value] = words[w];
      if (a[attr] !== value) problems.push(`'${w} ${t[j]}' but ${attr} is ${a[attr]}: ${text}`);
    }
  }
  return { problems, groups };
}

describe('plumage synth: layout', () => {
  let out: string;
  let manifest: Manifest;
  beforeAll(async () => {
    out = tmp();
    const r = await writeSynth({ out, species: 6, perSpecies: 5, size: 96, seed: 7 });
    expect(r).toEqual({ out, images: 30, species: 6, captions: 300 });
    manifest = JSON.parse(read(join(out, 'synth.json')));
  });

  it('writes the CUB-200-2011 files with the right line counts', () => {
    const cub = join(out, 'CUB_200_2011');
    expect(lines(join(cub, 'images.txt'))).toHaveLength(30);
    expect(lines(join(cub, 'classes.txt'))).toHaveLength(6);
    expect(lines(join(cub, 'image_class_labels.txt'))).toHaveLength(30);
    expect(lines(join(cub, 'train_test_split.txt'))).toHaveLength(30);
    expect(lines(join(cub, 'bounding_boxes.txt'))).toHaveLength(30);
    expect(lines(join(cub, 'parts/part_locs.txt'))).toHaveLength(30 * 15);
    expect(lines(join(cub, 'attributes.txt')).length).toBeGreaterThan(30);
    expect(listFiles(join(cub, 'images')).filter((f) => f.endsWith('.jpg'))).toHaveLength(30);
    // parts.txt is the real CUB part list, byte for byte.
    expect(read(join(cub, 'parts/parts.txt'))).toBe(read(join(refCub, 'CUB_200_2011/parts/parts.txt')));
  });

  it('uses the same line formats as the real CUB metadata', () => {
    const formats: Record<string, RegExp> = {
      'images.txt': /^\d+ \d{3}\.[A-Za-z_]+\/[A-Za-z_]+_\d+(_\d+)?\.jpg$/,
      'classes.txt': /^\d+ \d{3}\.[A-Za-z_]+$/,
      'image_class_labels.txt': /^\d+ \d+$/,
      'train_test_split.txt': /^\d+ [01]$/,
      'bounding_boxes.txt': /^\d+ \d+\.\d \d+\.\d \d+\.\d \d+\.\d$/,
      'parts/part_locs.txt': /^\d+ \d+ \d+\.\d \d+\.\d [01]$/,
    };
    for (const [file, re] of Object.entries(formats)) {
      // The pattern describes the reference file too, so it is the real format, not just ours.
      for (const l of lines(join(refCub, 'CUB_200_2011', file)).slice(0, 50)) expect(l, `reference ${file}`).toMatch(re);
      for (const l of lines(join(out, 'CUB_200_2011', file))) expect(l, file).toMatch(re);
    }
  });

  it('places text_c10 beside CUB_200_2011 exactly as the real data does, 10 captions per image', () => {
    // In the reference, every caption file's path mirrors an image path with .txt.
    const refImg = lines(join(refCub, 'CUB_200_2011/images.txt')).map((l) => l.split(' ')[1]).find((p) => existsSync(join(refCub, 'CUB_200_2011/images', p)))!;
    expect(existsSync(join(refCub, 'text_c10', refImg.replace(/\.jpg$/, '.txt')))).toBe(true);
    let total = 0;
    for (const l of lines(join(out, 'CUB_200_2011/images.txt'))) {
      const rel = l.split(' ')[1];
      expect(existsSync(join(out, 'CUB_200_2011/images', rel))).toBe(true);
      const caps = read(join(out, 'text_c10', rel.replace(/\.jpg$/, '.txt'))).split('\n');
      expect(caps.pop()).toBe(''); // newline-terminated, like Reed's files
      expect(caps).toHaveLength(10);
      for (const c of caps) expect(c.trim().length).toBeGreaterThan(10);
      expect(new Set(caps).size).toBe(10);
      total += caps.length;
    }
    expect(total).toBe(300);
    expect(listFiles(join(out, 'text_c10'))).toHaveLength(30);
  });

  it('labels, splits, boxes and part locations are consistent', () => {
    const cub = join(out, 'CUB_200_2011');
    const labels = lines(join(cub, 'image_class_labels.txt')).map((l) => Number(l.split(' ')[1]));
    const classes = lines(join(cub, 'classes.txt')).map((l) => l.split(' ')[1]);
    const images = lines(join(cub, 'images.txt')).map((l) => l.split(' ')[1]);
    images.forEach((p, i) => expect(p.split('/')[0]).toBe(classes[labels[i] - 1]));
    const split = lines(join(cub, 'train_test_split.txt')).map((l) => Number(l.split(' ')[1]));
    for (let c = 1; c <= 6; c++) {
      const s = split.filter((_, i) => labels[i] === c);
      expect(s.filter((v) => v === 1)).toHaveLength(3); // ceil(5 / 2) train, the rest test
    }
    const boxes = lines(join(cub, 'bounding_boxes.txt')).map((l) => l.split(' ').map(Number));
    const locs = lines(join(cub, 'parts/part_locs.txt')).map((l) => l.split(' ').map(Number));
    for (const [id, x, y, w, h] of boxes) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(x + w).toBeLessThanOrEqual(96);
      expect(y + h).toBeLessThanOrEqual(96);
      // The bird fills 0.5–0.9 of the frame.
      expect(Math.max(w, h)).toBeGreaterThan(0.4 * 96);
      const mine = locs.filter((l) => l[0] === id);
      expect(mine.map((l) => l[1])).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      for (const [, , px, py, v] of mine) {
        if (v === 0) expect([px, py]).toEqual([0, 0]);
        else {
          expect(px).toBeGreaterThanOrEqual(x - 1);
          expect(px).toBeLessThanOrEqual(x + w + 1);
          expect(py).toBeGreaterThanOrEqual(y - 1);
          expect(py).toBeLessThanOrEqual(y + h + 1);
        }
      }
      // A side view shows one eye and one wing: exactly one of left/right is visible.
      const vis = (p: number) => mine[p - 1][4];
      expect(vis(7) + vis(11)).toBe(1);
      expect(vis(9) + vis(13)).toBe(1);
      expect(vis(7)).toBe(vis(9));
    }
    // Both poses occur.
    expect(new Set(manifest.images.map((im) => im.pose.flipped)).size).toBe(2);
  });

  it('writes synth.json with the options, species and per-image attributes', () => {
    expect(manifest.seed).toBe(7);
    expect(manifest.options).toMatchObject({ species: 6, per_species: 5, size: 96 });
    expect(manifest.images).toHaveLength(30);
    for (const im of manifest.images) {
      expect(Object.keys(im.attributes).sort()).toEqual([...ATTRIBUTE_NAMES].sort());
      expect(im.attributes).toEqual(manifest.species[im.species - 1].attributes);
      expect(im.file.startsWith(manifest.species[im.species - 1].folder + '/')).toBe(true);
    }
  });

  it('decodes every image with sharp at the requested size', async () => {
    for (const f of listFiles(join(out, 'CUB_200_2011/images'))) {
      const m = await sharp(f).metadata();
      expect([m.format, m.width, m.height, m.channels]).toEqual(['jpeg', 96, 96, 3]);
    }
  });

  it('captions name only attributes that were drawn, 2–4 of them each', () => {
    let checked = 0;
    for (const im of manifest.images) {
      const caps = lines(join(out, 'text_c10', im.file.replace(/\.jpg$/, '.txt')));
      for (const c of caps) {
        const { problems, groups } = checkCaption(c, im.attributes);
        expect(problems).toEqual([]);
        expect(groups.size, c).toBeGreaterThanOrEqual(2);
        expect(groups.size, c).toBeLessThanOrEqual(4);
        checked++;
      }
    }
    expect(checked).toBe(300);
  });

  it('the caption checker is not vacuous: captions of one species contradict a different species', () => {
    const [a, b] = [manifest.species[0], manifest.species[2]];
    const im = manifest.images.find((x) => x.species === a.id)!;
    const caps = lines(join(out, 'text_c10', im.file.replace(/\.jpg$/, '.txt')));
    const contradictions = caps.filter((c) => checkCaption(c, b.attributes).problems.length > 0);
    expect(contradictions.length).toBeGreaterThanOrEqual(5);
  });
});

describe('plumage synth: determinism and content', () => {
  it('same arguments give identical bytes; another seed gives other images', async () => {
    const [a, b, c] = [tmp(), tmp(), tmp()];
    await writeSynth({ out: a, species: 3, perSpecies: 4, size: 64, seed: 11 });
    await writeSynth({ out: b, species: 3, perSpecies: 4, size: 64, seed: 11 });
    await writeSynth({ out: c, species: 3, perSpecies: 4, size: 64, seed: 12 });
    expect(treeHash(a)).toBe(treeHash(b));
    expect(treeHash(a)).not.toBe(treeHash(c));
    const first = listFiles(join(a, 'CUB_200_2011/images'))[0];
    const other = join(c, relative(a, first));
    expect(readFileSync(first).equals(readFileSync(other))).toBe(false);
    // Re-running into a folder it wrote replaces the output (same bytes again).
    await writeSynth({ out: a, species: 3, perSpecies: 4, size: 64, seed: 11 });
    expect(treeHash(a)).toBe(treeHash(b));
  });

  it('paints the drawn colours where part_locs says the crown and belly are', async () => {
    const out = tmp();
    await writeSynth({ out, species: 12, perSpecies: 2, size: 256, seed: 3 });
    const m: Manifest = JSON.parse(read(join(out, 'synth.json')));
    const locs = lines(join(out, 'CUB_200_2011/parts/part_locs.txt')).map((l) => l.split(' ').map(Number));
    const nearest = (rgb: number[]) =>
      Object.entries(PALETTE).reduce((best, [name, c]) => {
        const d = Math.hypot(c[0] - rgb[0], c[1] - rgb[1], c[2] - rgb[2]);
        return d < best.d ? { name, d } : best;
      }, { name: '', d: Infinity }).name;
    let ok = 0;
    let n = 0;
    for (const im of m.images) {
      const { data } = await sharp(join(out, 'CUB_200_2011/images', im.file)).raw().toBuffer({ resolveWithObject: true });
      const gain = [im.pose.brightness * (1 + im.pose.tint), im.pose.brightness, im.pose.brightness * (1 - im.pose.tint)];
      for (const [part, attr] of [[5, 'crown_color'], [3, 'belly_color']] as const) {
        const [, , x, y] = locs.find((l) => l[0] === im.id && l[1] === part)!;
        // Average a 3×3 patch and undo the image's lighting before naming the colour.
        const rgb = [0, 0, 0];
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const p = ((Math.round(y) + dy) * 256 + Math.round(x) + dx) * 3;
            for (let ch = 0; ch < 3; ch++) rgb[ch] += data[p + ch] / 9 / gain[ch];
          }
        n++;
        if (nearest(rgb) === im.attributes[attr]) ok++;
      }
    }
    expect(n).toBe(48);
    expect(ok / n).toBeGreaterThanOrEqual(0.9);
  });

  it('writes at least 50 images/s at 128 px (best of up to three runs of 100 images)', async () => {
    let best = 0;
    for (let attempt = 0; attempt < 3 && best < 50; attempt++) {
      const out = tmp();
      const t0 = performance.now();
      await writeSynth({ out, species: 10, perSpecies: 10, size: 128, seed: attempt });
      best = Math.max(best, 100 / ((performance.now() - t0) / 1000));
      rmSync(out, { recursive: true, force: true });
    }
    expect(best).toBeGreaterThanOrEqual(50);
  });
});

describe('plumage synth: species table and arguments', () => {
  it('has 200 uniquely named species; siblings differ in one small part, the rest in several', () => {
    const t = speciesTable();
    expect(t).toHaveLength(200);
    expect(new Set(t.map((s) => s.name)).size).toBe(200);
    expect(new Set(t.map((s) => s.folder)).size).toBe(200);
    const diff = (x: BirdAttributes, y: BirdAttributes) => ATTRIBUTE_NAMES.filter((k) => x[k] !== y[k]);
    const first12 = t.slice(0, 12);
    let siblings = 0;
    for (let i = 0; i < first12.length; i++)
      for (let j = i + 1; j < first12.length; j++) {
        const d = diff(first12[i].attributes, first12[j].attributes);
        if (d.length === 1) {
          siblings++;
          expect(['crown_color', 'crest', 'bill_shape', 'eye_ring']).toContain(d[0]);
        } else expect(d.length).toBeGreaterThanOrEqual(3);
      }
    expect(siblings).toBeGreaterThanOrEqual(3);
  });

  it('rejects bad options with clear messages', async () => {
    const ok = { out: '/tmp/x', species: 3, perSpecies: 2, size: 64, seed: 1 };
    expect(checkSynthOptions(ok)).toBeUndefined();
    expect(checkSynthOptions({ ...ok, species: 0 })).toMatch(/--species .*1 to 200/);
    expect(checkSynthOptions({ ...ok, species: 201 })).toMatch(/--species/);
    expect(checkSynthOptions({ ...ok, perSpecies: 0 })).toMatch(/--per-species/);
    expect(checkSynthOptions({ ...ok, size: 31 })).toMatch(/--size .*32 to 1024/);
    expect(checkSynthOptions({ ...ok, size: 1025 })).toMatch(/--size/);
    expect(checkSynthOptions({ ...ok, seed: 1.5 })).toMatch(/--seed/);
    await expect(writeSynth({ ...ok, species: 0 })).rejects.toThrow(/--species/);
  });

  it('the CLI prints one JSON object and fails with exit code 2 on bad input', () => {
    const out = tmp();
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin/plumage.js'), ...args], { encoding: 'utf8', cwd: repoRoot });
    const r = cli('synth', '--out', out, '--species', '2', '--per-species', '2', '--size', '48', '--seed', '5', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ out, images: 4, species: 2, captions: 40 });
    const bad = cli('synth', '--out', out, '--species', '500', '--json');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--species must be an integer from 1 to 200/);
    expect(cli('synth', '--out', out, '--size', 'big').status).toBe(2);
    expect(cli('synth', '--species', '3').stderr).toMatch(/--out DIR is required/);
    // An existing CUB folder that synth did not write is never overwritten.
    const foreign = tmp();
    mkdirSync(join(foreign, 'CUB_200_2011'), { recursive: true });
    const clash = cli('synth', '--out', foreign, '--species', '1', '--per-species', '1');
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(/already holds/);
  });
});
