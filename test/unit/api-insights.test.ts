/**
 * Issue-6 channels that need no model: validation at the boundary, structured errors, masks with
 * undo through the api, the batch-caption review (review, import accepted, export CSV / COCO) and
 * the resumable-run list — on a real SQLite file with real PNG files.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { checkpointPaths } from '../../src-main/jobs/run-artifact.ts';
import { writeSafetensors } from '../../src-main/ml/safetensors.ts';
import type {
  BatchJobInfo,
  BatchResultItem,
  ImageDetail,
  MaskData,
  ResumableRun,
} from '../../shared/types.ts';
import { makeFixture, type Fixture } from './api-fixture.ts';
import { invokeOk } from '../helpers/invoke.ts';

let fx: Fixture | null = null;
let api: PlumageApi | null = null;
afterEach(() => {
  api?.close();
  fx?.cleanup();
  api = null;
  fx = null;
});

async function setup(n = 4) {
  fx = await makeFixture(n);
  api = createApi({ home: fx.home, log: () => {} });
  return { fx, api };
}

const ok = invokeOk;

const maskPng = async (w: number, h: number, cols: number) => {
  const px = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < cols; x++) px.set([255, 255, 255, 255], (y * w + x) * 4);
  return (
    await sharp(px, { raw: { width: w, height: h, channels: 4 } })
      .png()
      .toBuffer()
  ).toString('base64');
};

describe('issue-6 channels: validation', () => {
  const bad: [string, unknown][] = [
    ['cams:get', {}],
    ['cams:get', { imageId: 1, runId: '' }],
    ['cams:word', { imageId: 1, wordIndex: -1 }],
    ['cams:word', { imageId: 1 }],
    ['masks:save', { imageId: 1, width: 8, height: 8, png: 'not base64!' }],
    ['masks:save', { imageId: 1, width: 5000, height: 8, png: 'iVBORw0KGgoAAAA=' }],
    ['masks:save', { imageId: 1, width: 8, height: 8, png: 'A'.repeat(3_000_000) }],
    ['masks:save', { imageId: 1, width: 8, height: 8 }],
    ['masks:clear', { imageId: 0 }],
    ['runs:get', {}],
    ['runs:compare', { ids: [] }],
    ['runs:confusionCell', { runId: 'r', trueClass: 1 }],
    ['eval:start', { runId: 5 }],
    ['batch:results', { jobId: 'x' }],
    ['batch:review', { jobId: 1, relPath: 'a.png', review: 'maybe' }],
    ['batch:export', { jobId: 1, format: 'xml', path: '/tmp/x' }],
    ['batch:export', { jobId: 1, format: 'csv', path: 'a\u0000b' }],
    ['train:start', { variant: 'cam', collectionId: 'one' }],
    ['train:resume', {}],
    ['images:nextDisputed', { afterId: 'x' }],
    ['predict:start', { runId: 3 }],
  ];
  for (const [channel, req] of bad) {
    it(`rejects ${channel} ${JSON.stringify(req)?.slice(0, 60)}`, async () => {
      const { api } = await setup(1);
      const env = await api.invoke(channel, req);
      expect(env.result).toBeUndefined();
      expect(env.error?.code).toBe('invalid_request');
    });
  }

  it('answers not_found / unavailable as structured errors', async () => {
    const { api } = await setup(1);
    expect((await api.invoke('runs:get', { id: 'nope' })).error?.code).toBe('not_found');
    expect((await api.invoke('runs:compare', { ids: ['nope'] })).error?.code).toBe('not_found');
    expect((await api.invoke('cams:get', { imageId: 999 })).error?.code).toBe('not_found');
    expect((await api.invoke('cams:get', { imageId: fx!.imageIds[0] })).error?.code).toBe('not_found'); // no run yet
    expect((await api.invoke('predict:start', {})).error?.code).toBe('not_found');
    expect((await api.invoke('eval:start', { runId: 'nope' })).error?.code).toBe('not_found');
    expect((await api.invoke('batch:results', { jobId: 7 })).error?.code).toBe('not_found');
    expect((await api.invoke('masks:get', { imageId: 999 })).error?.code).toBe('not_found');
    expect((await api.invoke('train:resume', { runId: 'nope' })).error?.code).toBe('not_found');
    expect(await ok(api, 'images:nextDisputed', {})).toEqual({ imageId: null });
    expect(await ok(api, 'train:resumable')).toEqual([]);
  });
});

describe('masks through the api', () => {
  it('save → get → undo → redo → clear, with images:changed pushes; bad PNGs refused', async () => {
    const { fx, api } = await setup(2);
    const id = fx.imageIds[0];
    const pushed: number[][] = [];
    api.on('images:changed', (m) => pushed.push(m.imageIds));
    expect(await ok(api, 'masks:get', { imageId: id })).toBeNull();
    const saved = await ok<MaskData>(api, 'masks:save', {
      imageId: id,
      width: 8,
      height: 8,
      png: await maskPng(8, 8, 3),
    });
    expect(saved).toMatchObject({ width: 8, height: 8 });
    expect(await ok(api, 'masks:get', { imageId: id })).toEqual(saved);
    expect(pushed).toContainEqual([id]);
    expect(await ok(api, 'edits:undo')).toEqual({ undone: true, imageIds: [id] });
    expect(await ok(api, 'masks:get', { imageId: id })).toBeNull();
    await ok(api, 'edits:redo');
    expect(await ok(api, 'masks:get', { imageId: id })).toEqual(saved);
    expect(await ok(api, 'masks:clear', { imageId: id })).toEqual({ cleared: true });
    expect(await ok(api, 'masks:get', { imageId: id })).toBeNull();
    const wrong = await api.invoke('masks:save', {
      imageId: id,
      width: 9,
      height: 8,
      png: await maskPng(8, 8, 3),
    });
    expect(wrong.error?.code).toBe('invalid_request');
    const gif = await api.invoke('masks:save', {
      imageId: id,
      width: 8,
      height: 8,
      png: Buffer.from('GIF89a-not-a-png').toString('base64'),
    });
    expect(gif.error).toEqual({ code: 'invalid_request', message: 'mask is not a PNG (bad signature)' });
  });
});

describe('batch-caption review', () => {
  async function batchFixture() {
    const { fx, api } = await setup(1);
    // A folder of 5 real photos captioned by a (recorded) run: the batch job's rows as runCaption writes them.
    const folder = join(fx.dir, 'incoming');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    const names = ['p0.png', 'p1.png', 'p2.png', 'sub/p3.png', 'bad.png'];
    for (const [i, n] of names.entries())
      writeFileSync(
        join(folder, n),
        await sharp({ create: { width: 10 + i, height: 6, channels: 3, background: '#406080' } })
          .png()
          .toBuffer(),
      );
    const db = openDb(workspace(fx.home).dbPath);
    db.prepare(
      "INSERT INTO runs(id, variant, encoder, backend, config, dataset_version, status) VALUES ('r1', 'cam', 'e', 'cpu', '{}', 'v', 'done')",
    ).run();
    const job = Number(
      db.prepare("INSERT INTO batch_jobs(folder, run_id, status) VALUES (?, 'r1', 'done')").run(folder)
        .lastInsertRowid,
    );
    const ins = db.prepare(
      'INSERT INTO batch_results(job_id, rel_path, caption, top5, error) VALUES (?, ?, ?, ?, ?)',
    );
    names.forEach((n, i) =>
      n === 'bad.png'
        ? ins.run(job, n, null, null, 'cannot decode')
        : ins.run(
            job,
            n,
            `a bird number ${i}, small`,
            JSON.stringify([
              { class: i % 2 ? 'Wren' : 'Robin', p: 0.7 },
              { class: 'Jay', p: 0.2 },
            ]),
            null,
          ),
    );
    db.close();
    return { fx, api, folder, job };
  }

  it('lists jobs and results; review accepts, edits, rejects; refuses bad reviews', async () => {
    const { api, job } = await batchFixture();
    const jobs = await ok<BatchJobInfo[]>(api, 'batch:list');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: job, runId: 'r1', results: 4, errors: 1, reviewed: 0 });
    const res = await ok<BatchResultItem[]>(api, 'batch:results', { jobId: job });
    expect(res.map((r) => r.relPath)).toEqual(['bad.png', 'p0.png', 'p1.png', 'p2.png', 'sub/p3.png']);
    expect(res[1]).toMatchObject({
      caption: 'a bird number 0, small',
      review: 'pending',
      top5: [
        { class: 'Robin', p: 0.7 },
        { class: 'Jay', p: 0.2 },
      ],
    });
    await ok(api, 'batch:review', { jobId: job, relPath: 'p0.png', review: 'accepted' });
    const edited = await ok<BatchResultItem>(api, 'batch:review', {
      jobId: job,
      relPath: 'p1.png',
      review: 'edited',
      caption: 'a wren on a fence',
    });
    expect(edited).toMatchObject({
      review: 'edited',
      editedCaption: 'a wren on a fence',
      caption: 'a bird number 1, small',
    });
    await ok(api, 'batch:review', { jobId: job, relPath: 'p2.png', review: 'rejected' });
    await ok(api, 'batch:review', { jobId: job, relPath: 'sub/p3.png', review: 'accepted' });
    expect(
      (await api.invoke('batch:review', { jobId: job, relPath: 'p0.png', review: 'edited' })).error?.code,
    ).toBe('invalid_request');
    expect(
      (await api.invoke('batch:review', { jobId: job, relPath: 'bad.png', review: 'accepted' })).error?.code,
    ).toBe('invalid_request');
    expect(
      (await api.invoke('batch:review', { jobId: job, relPath: 'nope.png', review: 'accepted' })).error?.code,
    ).toBe('not_found');
    expect((await ok<BatchJobInfo[]>(api, 'batch:list'))[0].reviewed).toBe(4);

    // Export: the accepted and edited results (not the rejected one), the edit replacing the model's caption.
    // A bare file name goes into the workspace's exports/ folder (the page may not write elsewhere).
    const csv = join(fx!.home, 'exports', 'batch.csv');
    expect(await ok(api, 'batch:export', { jobId: job, format: 'csv', path: 'batch.csv' })).toEqual({
      path: csv,
      rows: 3,
    });
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'path,caption,species_1,p_1,species_2,p_2,species_3,p_3,species_4,p_4,species_5,p_5,run,review',
    );
    expect(lines.slice(1)).toEqual([
      'p0.png,"a bird number 0, small",Robin,0.7000,Jay,0.2000,,,,,,,r1,accepted',
      'p1.png,a wren on a fence,Wren,0.7000,Jay,0.2000,,,,,,,r1,edited',
      'sub/p3.png,"a bird number 3, small",Wren,0.7000,Jay,0.2000,,,,,,,r1,accepted',
    ]);
    // Asked for everything: the rejected result too, marked as such.
    expect((await ok<{ rows: number }>(api, 'batch:export', { jobId: job, format: 'csv', path: 'batch.csv', include: 'all' })).rows).toBe(4);
    expect(readFileSync(csv, 'utf8').trim().split('\n')[3]).toMatch(/^p2\.png,.*,r1,rejected$/);
    const coco = join(fx!.home, 'exports', 'batch.json');
    expect(
      (await ok<{ rows: number }>(api, 'batch:export', { jobId: job, format: 'coco', path: coco })).rows,
    ).toBe(3);
    const doc = JSON.parse(readFileSync(coco, 'utf8'));
    expect(doc.images.map((i: { file_name: string; width: number }) => [i.file_name, i.width])).toEqual([
      ['p0.png', 10],
      ['p1.png', 11],
      ['sub/p3.png', 13],
    ]);
    expect(doc.annotations.map((a: { caption: string }) => a.caption)).toEqual([
      'a bird number 0, small',
      'a wren on a fence',
      'a bird number 3, small',
    ]);
  });

  it('imports accepted and edited results into a collection for the folder, once', async () => {
    const { api, job, folder } = await batchFixture();
    await ok(api, 'batch:review', { jobId: job, relPath: 'p0.png', review: 'accepted' });
    await ok(api, 'batch:review', {
      jobId: job,
      relPath: 'p1.png',
      review: 'edited',
      caption: 'a wren on a fence',
    });
    await ok(api, 'batch:review', { jobId: job, relPath: 'p2.png', review: 'rejected' });
    const r = await ok<{ collectionId: number; imported: number; captions: number }>(
      api,
      'batch:importAccepted',
      { jobId: job },
    );
    expect(r).toMatchObject({ imported: 2, captions: 2, skipped: 0 });
    const cols = await ok<{ id: number; root: string; kind: string; images: number }[]>(
      api,
      'collections:list',
    );
    expect(cols.find((c) => c.id === r.collectionId)).toMatchObject({
      root: folder,
      kind: 'batch',
      images: 2,
    });
    const page = await ok<{ items: { id: number; relPath: string }[] }>(api, 'images:query', {
      collectionId: r.collectionId,
    });
    expect(page.items.map((i) => i.relPath)).toEqual(['p0.png', 'p1.png']);
    const d0 = await ok<ImageDetail>(api, 'images:get', { id: page.items[0].id });
    expect(d0.captions.map((c) => [c.text, c.provenance])).toEqual([['a bird number 0, small', 'model:r1']]);
    expect([d0.className, d0.labelProvenance]).toEqual(['Robin', 'model:r1']);
    const d1 = await ok<ImageDetail>(api, 'images:get', { id: page.items[1].id });
    expect(d1.captions.map((c) => [c.text, c.provenance])).toEqual([['a wren on a fence', 'human']]);
    // again: nothing new
    expect(await ok(api, 'batch:importAccepted', { jobId: job })).toMatchObject({ imported: 0, captions: 0 });
    // into another collection whose root does not contain the folder: refused
    expect(
      (await api.invoke('batch:importAccepted', { jobId: job, collectionId: fx!.collectionId })).error?.code,
    ).toBe('invalid_request');
  });
});

/** The pid of a process that has exited (a short-lived child). */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

describe('resumable runs', () => {
  it('offers interrupted (process gone) or cancelled runs with an unfinished resume checkpoint, not live ones', async () => {
    const { fx, api } = await setup(1);
    const ws = workspace(fx.home);
    const db = openDb(ws.dbPath);
    const add = (id: string, status: string) =>
      db
        .prepare(
          "INSERT INTO runs(id, variant, encoder, backend, config, dataset_version, status) VALUES (?, 'cam', 'e', 'cpu', '{\"epochs\":7}', 'v', ?)",
        )
        .run(id, status);
    add('r-left', 'running');
    add('r-done', 'done');
    add('r-nockpt', 'running');
    add('r-finished', 'cancelled');
    add('r-live', 'running');
    add('r-dead', 'running');
    add('r-nojson', 'cancelled');
    add('r-noweights', 'cancelled');
    db.close();
    // r-live is trained by a live process (this one, beating now); r-dead's process is gone.
    const owner = (pid: number) => JSON.stringify({ pid, host: hostname(), heartbeatAt: Date.now() });
    writeFileSync(join(ws.checkpoints, 'r-live.owner.json'), owner(process.pid));
    writeFileSync(join(ws.checkpoints, 'r-dead.owner.json'), owner(deadPid()));
    // A checkpoint as the trainer writes it: the position inside the weights file, and beside it.
    const checkpointAt = (id: string, position: { epoch: number; globalStep: number; finished: boolean }, json = true) => {
      const paths = checkpointPaths(ws, id);
      writeSafetensors(paths.resumeWeights, { w: { shape: [1], data: [0] } }, { format: 'pt', resume_state: JSON.stringify(position) });
      if (json) writeFileSync(paths.resumeState, JSON.stringify(position));
    };
    for (const id of ['r-live', 'r-dead']) checkpointAt(id, { epoch: 1, globalStep: 5, finished: false });
    checkpointAt('r-left', { epoch: 2, globalStep: 40, finished: false });
    checkpointAt('r-done', { epoch: 7, globalStep: 99, finished: false });
    checkpointAt('r-finished', { epoch: 7, globalStep: 99, finished: true });
    // Killed between writing the weights and the .json beside them: resumable all the same.
    checkpointAt('r-nojson', { epoch: 0, globalStep: 0, finished: false }, false);
    // A position file without weights cannot be resumed, so it is not offered.
    writeFileSync(checkpointPaths(ws, 'r-noweights').resumeState, JSON.stringify({ epoch: 1, globalStep: 3, finished: false }));
    const list = await ok<ResumableRun[]>(api, 'train:resumable');
    expect(list.map((r) => r.id).sort()).toEqual(['r-dead', 'r-left', 'r-nojson']);
    expect(list.find((r) => r.id === 'r-left')).toEqual(
      expect.objectContaining({ variant: 'cam', status: 'interrupted', epoch: 2, epochs: 7, globalStep: 40 }),
    );
    const check = openDb(ws.dbPath);
    const status = (id: string) => (check.prepare('SELECT status FROM runs WHERE id = ?').get(id) as { status: string }).status;
    expect([status('r-live'), status('r-dead'), status('r-nockpt'), status('r-done')]).toEqual(['running', 'interrupted', 'interrupted', 'done']);
    check.close();
    expect((await api.invoke('train:resume', { runId: 'r-done' })).error?.code).toBe('not_found');
    expect((await api.invoke('train:resume', { runId: 'r-noweights' })).error?.code).toBe('not_found');
  });
});
