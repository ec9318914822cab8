/**
 * The real CLI (`node bin/plumage.js score …`) on the public corpora: same numbers as
 * ../shared/metrics/public.json, both input shapes, and one-line errors on bad input.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../helpers/shared.ts';

const repo = process.cwd();
const pub = JSON.parse(readFileSync(sharedPath('metrics/public.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'plumage-score-'));
const cli = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'bin/plumage.js'), ...args], { encoding: 'utf8' });

const FIELD: Record<string, string> = {
  Bleu_1: 'bleu1',
  Bleu_2: 'bleu2',
  Bleu_3: 'bleu3',
  Bleu_4: 'bleu4',
  ROUGE_L: 'rougeL',
  CIDEr: 'cider',
  METEOR_nltk: 'meteor',
};

describe('plumage score', () => {
  it('prints the public.json values for every corpus (plain JSON inputs)', () => {
    for (const c of pub.corpora) {
      const refs: Record<string, string[]> = {};
      const cands: Record<string, string> = {};
      for (const im of c.images) {
        refs[im.id] = im.references;
        cands[im.id] = im.candidate;
      }
      writeFileSync(join(dir, `${c.name}.refs.json`), JSON.stringify(refs));
      writeFileSync(join(dir, `${c.name}.cands.json`), JSON.stringify(cands));
      const out = execFileSync(
        process.execPath,
        [join(repo, 'bin/plumage.js'), 'score', '--refs', join(dir, `${c.name}.refs.json`), '--cands', join(dir, `${c.name}.cands.json`), '--json'],
        { encoding: 'utf8' },
      );
      const lines = out.trim().split('\n');
      expect(lines.length).toBe(1);
      const got = JSON.parse(lines[0]);
      for (const [m, f] of Object.entries(FIELD)) {
        expect(Math.abs(got[f] - c.expected[m]), `${c.name} ${m}`).toBeLessThanOrEqual(m === 'METEOR_nltk' ? 1e-3 : 1e-4);
      }
      c.images.forEach((im: { id: number }, i: number) => {
        expect(Math.abs(got.per_image[String(im.id)].cider - c.per_image.CIDEr[i])).toBeLessThanOrEqual(1e-4);
      });
    }
  });

  it('accepts a COCO annotation file and a COCO results file, scoring only the result images', () => {
    const c = pub.corpora.find((x: { name: string }) => x.name === 'birds_basic');
    const annotations = c.images.flatMap((im: { id: number; references: string[] }) =>
      im.references.map((caption, k) => ({ id: im.id * 100 + k, image_id: im.id, caption: caption.toUpperCase() + '.' })),
    );
    // An extra annotated image without a result must be ignored, as COCOEvalCap does.
    annotations.push({ id: 99999, image_id: 777, caption: 'an unrelated image' });
    writeFileSync(join(dir, 'captions_val.json'), JSON.stringify({ images: [], annotations }));
    writeFileSync(
      join(dir, 'results.json'),
      JSON.stringify(c.images.map((im: { id: number; candidate: string }) => ({ image_id: im.id, caption: im.candidate }))),
    );
    const r = cli('score', '--refs', join(dir, 'captions_val.json'), '--cands', join(dir, 'results.json'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(Object.keys(got.per_image).sort()).toEqual(c.images.map((im: { id: number }) => String(im.id)).sort());
    expect(Math.abs(got.cider - c.expected.CIDEr)).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(got.bleu4 - c.expected.Bleu_4)).toBeLessThanOrEqual(1e-4);
  });

  it('fails with a one-line reason on bad JSON, missing files and missing ids', () => {
    writeFileSync(join(dir, 'bad.json'), '{"0": [');
    writeFileSync(join(dir, 'r.json'), JSON.stringify({ a: ['a bird'], b: ['a flower'] }));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ a: 'a bird', z: 'x' }));
    const cases: [string[], RegExp][] = [
      [['--refs', join(dir, 'bad.json'), '--cands', join(dir, 'c.json')], /not valid JSON/],
      [['--refs', join(dir, 'nope.json'), '--cands', join(dir, 'c.json')], /no such file/],
      [['--refs', join(dir, 'r.json'), '--cands', join(dir, 'c.json')], /candidate id\(s\) have no references: z/],
      [['--refs', join(dir, 'r.json')], /usage/],
    ];
    for (const [args, re] of cases) {
      const r = cli('score', ...args);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n').length).toBe(1);
      expect(r.stderr).toMatch(re);
    }
  });
});
