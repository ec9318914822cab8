import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { startServer, type RunningServer } from '../../src-main/serve/server.ts';
import type { BatchResultItem } from '../../shared/types.ts';
import { invokeOk } from '../helpers/invoke.ts';
import { makeFixture, type Fixture } from '../unit/api-fixture.ts';

/**
 * Thumbnails of batch-caption results are served by job id and result id only: the file is the
 * one the captioning job recorded, inside the captioned folder, and an image. Anything else —
 * another job's result, a file put in the folder later, a path in the route, a record pointing
 * outside the folder — is refused. The rows are written directly: the captioner is tested on its own.
 */

let fx: Fixture;
let api: PlumageApi;
let server: RunningServer;
let folder: string;
let jobA: number;
let jobB: number;
/** Result ids by rel_path, per job. */
const ids: Record<string, number> = {};

function get(path: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: `${path}?token=${server.token}` }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode!, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

const status = async (path: string) => (await get(path)).status;

beforeAll(async () => {
  fx = await makeFixture(2);
  folder = join(fx.dir, 'incoming');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  const jpeg = (w: number) => sharp({ create: { width: w, height: 40, channels: 3, background: { r: 10, g: 120, b: 40 } } }).jpeg().toBuffer();
  writeFileSync(join(folder, 'field_00.jpg'), await jpeg(600));
  writeFileSync(join(folder, 'sub', 'field_01.jpg'), await jpeg(80));
  writeFileSync(join(folder, 'notes.jpg'), 'not a photo at all\n');
  writeFileSync(join(folder, 'later.jpg'), await jpeg(64)); // in the folder, but not in the batch
  writeFileSync(join(fx.dir, 'secret.jpg'), await jpeg(64)); // outside the folder
  symlinkSync(join(fx.dir, 'secret.jpg'), join(folder, 'link.jpg'));
  const db = openDb(workspace(fx.home).dbPath);
  db.prepare(
    `INSERT INTO runs (id, collection_id, variant, encoder, backend, config, dataset_version, status)
     VALUES ('r1', ?, 'cam', 'enc', 'wasm', '{}', 'v', 'done')`,
  ).run(fx.collectionId);
  const job = (dir: string) => Number(db.prepare("INSERT INTO batch_jobs (folder, run_id, status) VALUES (?, 'r1', 'done')").run(dir).lastInsertRowid);
  jobA = job(folder);
  jobB = job(join(fx.dir, 'elsewhere'));
  const add = (jobId: number, rel: string) =>
    (ids[`${jobId}:${rel}`] = Number(
      db.prepare("INSERT INTO batch_results (job_id, rel_path, caption, top5) VALUES (?, ?, 'a bird', '[]')").run(jobId, rel).lastInsertRowid,
    ));
  for (const rel of ['field_00.jpg', 'sub/field_01.jpg', 'notes.jpg', '../secret.jpg', 'link.jpg']) add(jobA, rel);
  add(jobB, 'other.jpg');
  db.close();
  api = createApi({ home: fx.home, log: () => {} });
  server = await startServer({ api, staticDir: resolve(fx.dir, 'no-dist'), log: () => {} });
});

afterAll(async () => {
  await server?.close();
  api?.close();
  fx?.cleanup();
});

describe('batch-caption thumbnails', () => {
  it('batch:results gives each result an id, and its thumbnail is a JPEG of at most 256 px', async () => {
    const results = await invokeOk<BatchResultItem[]>(api, 'batch:results', { jobId: jobA });
    expect(results.map((r) => [r.relPath, r.id])).toEqual(
      ['../secret.jpg', 'field_00.jpg', 'link.jpg', 'notes.jpg', 'sub/field_01.jpg'].map((rel) => [rel, ids[`${jobA}:${rel}`]]),
    );
    for (const rel of ['field_00.jpg', 'sub/field_01.jpg']) {
      const r = await get(`/batch-thumb/${jobA}/${ids[`${jobA}:${rel}`]}`);
      expect(r.status).toBe(200);
      expect(r.type).toBe('image/jpeg');
      const meta = await sharp(r.body).metadata();
      expect(meta.format).toBe('jpeg');
      expect(meta.width).toBe(rel === 'field_00.jpg' ? 256 : 80); // shrunk, never enlarged
    }
  });

  it("refuses another job's result, unknown ids and a result id under the wrong job", async () => {
    const other = ids[`${jobB}:other.jpg`];
    expect(await status(`/batch-thumb/${jobB}/${other}`)).toBe(404); // its file does not exist
    expect(await status(`/batch-thumb/${jobA}/${other}`)).toBe(404);
    expect(await status(`/batch-thumb/${jobB}/${ids[`${jobA}:field_00.jpg`]}`)).toBe(404);
    expect(await status(`/batch-thumb/999/1`)).toBe(404);
    expect(await status(`/batch-thumb/${jobA}/999999`)).toBe(404);
  });

  it('takes ids only: a path, a traversal or extra segments in the route are refused', async () => {
    for (const route of [
      `/batch-thumb/${jobA}/later.jpg`,
      `/batch-thumb/${jobA}/field_00.jpg`,
      `/batch-thumb/${jobA}/..%2Fsecret.jpg`,
      `/batch-thumb/${jobA}/${ids[`${jobA}:field_00.jpg`]}/x`,
      `/batch-thumb/${jobA}`,
      `/batch-thumb/0/1`,
      `/batch-thumb/${jobA}/-1`,
    ])
      expect([route, await status(route)]).toEqual([route, 400]);
  });

  it('a recorded path that leaves the folder, a symlink out of it, or a non-image is refused', async () => {
    expect(await status(`/batch-thumb/${jobA}/${ids[`${jobA}:../secret.jpg`]}`)).toBe(404);
    expect(await status(`/batch-thumb/${jobA}/${ids[`${jobA}:link.jpg`]}`)).toBe(404);
    expect(await status(`/batch-thumb/${jobA}/${ids[`${jobA}:notes.jpg`]}`)).toBe(404);
  });

  it('the Electron protocol resolves the same route with the same checks', async () => {
    expect((await api.resolveImage(`batch-thumb/${jobA}/${ids[`${jobA}:field_00.jpg`]}`)).ok).toBe(true);
    expect(await api.resolveImage(`batch-thumb/${jobA}/${ids[`${jobA}:../secret.jpg`]}`)).toMatchObject({ ok: false, status: 404, reason: 'traversal' });
  });
});
