/**
 * Batch captioning and weights interop on a tiny trained run: a folder (nested, with a file that
 * is not an image) → CSV and JSON with caption, top-5 species and run id per photo; a rerun skips
 * the files already done; export weights → import-weights gives a run with identical outputs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src-main/api/service.ts';
import { readSafetensors } from '../../src-main/ml/safetensors.ts';
import { csvRow } from '../../src-main/util/csv.ts';
import { invokeOk } from '../helpers/invoke.ts';
import { SHARED_ENCODER } from '../helpers/shared.ts';

const TM = SHARED_ENCODER;
const bin = resolve(process.cwd(), 'bin/plumage.js');
const env = { ...process.env, PLUMAGE_BACKEND: process.env.PLUMAGE_BACKEND || 'wasm' };

function cli(args: string[]) {
  const out = execFileSync(process.execPath, [bin, ...args, '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

let home = '';
let run = '';
let photos = '';

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'plumage-cap-'));
  const demo = cli([
    'demo',
    '--home',
    home,
    '--encoder-path',
    TM,
    '--species',
    '3',
    '--per-species',
    '5',
    '--size',
    '64',
    '--epochs',
    '2',
    '--dims',
    'tiny',
    '--batch',
    '8',
    '--variants',
    'medi',
  ]);
  run = demo.rows[0].run;
  // A folder to caption: photos from the synthetic set, one nested, plus junk.
  const images = join(home, 'demo', readdirSync(join(home, 'demo'))[0], 'CUB_200_2011', 'images');
  photos = join(home, 'incoming');
  mkdirSync(join(photos, 'day2'), { recursive: true });
  const dirs = readdirSync(images).sort();
  copyFileSync(join(images, dirs[0], readdirSync(join(images, dirs[0]))[0]), join(photos, 'a.jpg'));
  copyFileSync(join(images, dirs[1], readdirSync(join(images, dirs[1]))[0]), join(photos, 'day2', 'b.jpg'));
  writeFileSync(join(photos, 'notes.jpg'), 'this is not a photo');
});

describe('plumage caption', () => {
  it('writes caption, top-5 and run id per photo, lists bad files, and resumes', () => {
    const out = join(home, 'captions.csv');
    const r1 = cli(['caption', photos, '--run', run, '--out', out, '--home', home]);
    expect(r1.files).toBe(3);
    expect(r1.captioned).toBe(2);
    expect(r1.errors.map((e: { path: string }) => e.path)).toEqual(['notes.jpg']);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'path,caption,species_1,p_1,species_2,p_2,species_3,p_3,species_4,p_4,species_5,p_5,run,error',
    );
    // The captioned photos, then the skipped file with its reason in the error column.
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['a.jpg', 'day2/b.jpg', 'notes.jpg']);
    expect(lines[3]).toBe(csvRow(['notes.jpg', ...Array<string>(11).fill(''), run, r1.errors[0].reason]));
    for (const l of lines.slice(1, 3)) {
      const cells = l.split(',');
      expect(cells[cells.length - 2]).toBe(run);
      expect(cells[cells.length - 1]).toBe('');
      const ps = [3, 5, 7].map((i) => Number(cells[i]));
      expect(ps[0]).toBeGreaterThanOrEqual(ps[1]);
      expect(ps[1]).toBeGreaterThanOrEqual(ps[2]);
      expect(cells[8]).toBe(''); // only 3 species exist: slots 4 and 5 stay empty
      expect(cells[10]).toBe('');
    }
    // Rerun: nothing new to do, same results, JSON this time.
    const outJson = join(home, 'captions.json');
    const r2 = cli(['caption', photos, '--run', run, '--out', outJson, '--home', home]);
    expect(r2.captioned).toBe(0);
    expect(r2.skipped_done).toBe(3);
    const j = JSON.parse(readFileSync(outJson, 'utf8'));
    expect(j.results).toHaveLength(2);
    expect(j.results[0].top5[0].p).toBeGreaterThan(0);
    expect(typeof j.results[0].caption).toBe('string');
    expect(j.errors).toHaveLength(1);
    // A new photo added later is the only one processed.
    copyFileSync(join(photos, 'a.jpg'), join(photos, 'c.jpg'));
    const r3 = cli(['caption', photos, '--run', run, '--out', outJson, '--home', home]);
    expect(r3.captioned).toBe(1);
  });

  it('the summary line counts the folder entries that could not be read', () => {
    const loopy = join(home, 'loopy');
    mkdirSync(loopy);
    copyFileSync(join(photos, 'a.jpg'), join(loopy, 'a.jpg'));
    symlinkSync('loop', join(loopy, 'loop'));
    const out = join(home, 'loopy.csv');
    const plain = spawnSync(process.execPath, [bin, 'caption', loopy, '--run', run, '--out', out, '--home', home], { encoding: 'utf8', env });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/^skipped loop: symbolic link loop \(ELOOP\)$/m);
    expect(plain.stdout).toMatch(/^done: 1 captioned now, 0 already done, 1 skipped \(1 folder entry could not be read\) → /m);
    expect(readFileSync(out, 'utf8').trim().split('\n').at(-1)).toBe(`loop,,,,,,,,,,,,${run},symbolic link loop (ELOOP)`);
  }, 120_000);

  it('export weights → import-weights round-trips to identical captions and probabilities', () => {
    const w = join(home, 'w.safetensors');
    const ex = cli(['export', 'weights', '--run', run, '--out', w, '--home', home]);
    expect(ex.tensors).toContain('medi.weight');
    expect(ex.tensors).toContain('cap.lstm.weight_ih_l0');
    const im = cli(['import-weights', w, '--variant', 'medi', '--home', home]);
    expect(im.status).toBe('done');
    expect(im.run).not.toBe(run);
    // The imported checkpoint holds the exported tensors byte for byte.
    const exported = readSafetensors(w).tensors;
    const imported = readSafetensors(join(home, 'checkpoints', `${im.run}.safetensors`)).tensors;
    expect(Object.keys(imported).sort()).toEqual(Object.keys(exported).sort());
    const bytes = (d: ArrayBufferView) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    for (const [name, t] of Object.entries(exported)) {
      expect([imported[name].dtype, imported[name].shape], name).toEqual([t.dtype, t.shape]);
      expect(bytes(imported[name].data).equals(bytes(t.data)), name).toBe(true);
    }
    // A fresh folder, so both runs caption the same photos in the same batches: captioning
    // `photos` again would reuse the results stored by the test above, computed in other batch
    // sizes, and native kernels round the last float32 bit differently per batch size.
    const fresh = join(home, 'roundtrip');
    mkdirSync(join(fresh, 'day2'), { recursive: true });
    copyFileSync(join(photos, 'a.jpg'), join(fresh, 'a.jpg'));
    copyFileSync(join(photos, 'day2', 'b.jpg'), join(fresh, 'day2', 'b.jpg'));
    const a = join(home, 'a.json');
    const b = join(home, 'b.json');
    expect(cli(['caption', fresh, '--run', run, '--out', a, '--home', home]).captioned).toBe(2);
    expect(cli(['caption', fresh, '--run', im.run, '--out', b, '--home', home]).captioned).toBe(2);
    const ra = JSON.parse(readFileSync(a, 'utf8')).results;
    const rb = JSON.parse(readFileSync(b, 'utf8')).results;
    expect(rb.map((r: { caption: string }) => r.caption)).toEqual(
      ra.map((r: { caption: string }) => r.caption),
    );
    expect(rb.map((r: { top5: unknown }) => r.top5)).toEqual(ra.map((r: { top5: unknown }) => r.top5));
    // The captioner's prior feature travels in W.json, so the imported run decodes the same way.
    const described = JSON.parse(readFileSync(w.replace(/\.safetensors$/, '.json'), 'utf8'));
    expect(described.caption_prior).toHaveLength(exported['medi.weight'].shape[0]);
    // Missing vocabulary: a clear one-line error.
    const bare = join(home, 'bare.safetensors');
    copyFileSync(w, bare);
    expect(() => cli(['import-weights', bare, '--home', home])).toThrow(/vocabulary/);
    // A prior that does not fit the captioner: refused, not decoded with.
    writeFileSync(bare.replace(/\.safetensors$/, '.json'), JSON.stringify({ ...described, caption_prior: [1] }));
    expect(() => cli(['import-weights', bare, '--home', home])).toThrow(/caption_prior has 1 values/);
  });

  it('the command line and the app caption a folder with the same operation: the same stored results', async () => {
    // two copies of one folder, so each shell starts its own batch job on the same photos
    const twin = (name: string) => {
      const d = join(home, name);
      mkdirSync(join(d, 'day2'), { recursive: true });
      copyFileSync(join(photos, 'a.jpg'), join(d, 'a.jpg'));
      copyFileSync(join(photos, 'day2', 'b.jpg'), join(d, 'day2', 'b.jpg'));
      copyFileSync(join(photos, 'notes.jpg'), join(d, 'notes.jpg'));
      return d;
    };
    const fromCli = cli(['caption', twin('twin-cli'), '--run', run, '--out', join(home, 'twin.json'), '--home', home]);
    const api = createApi({ home, log: () => {} });
    try {
      const { jobId } = await invokeOk<{ jobId: string }>(api, 'caption:start', { folder: twin('twin-api'), runId: run });
      const info = await api.jobs.wait(jobId);
      expect(info.status, info.message ?? '').toBe('done');
      const stored = (job: number) =>
        api.db.prepare('SELECT rel_path, caption, top5, error FROM batch_results WHERE job_id = ? ORDER BY rel_path').all(job);
      const fromApi = info.result as { job: number };
      expect(fromApi.job).not.toBe(fromCli.job);
      expect(stored(fromCli.job)).toHaveLength(3);
      expect(stored(fromApi.job)).toEqual(stored(fromCli.job));
    } finally {
      api.close();
    }
  });
});
