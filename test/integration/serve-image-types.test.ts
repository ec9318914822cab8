import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImagePage } from '../../shared/types.ts';
import { sniffFormat } from '../../src-main/util/image-sniff.ts';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { startServer, type RunningServer } from '../../src-main/serve/server.ts';
import { makeFixture, type Fixture } from '../unit/api-fixture.ts';
import { waitUntil } from '../helpers/wait.ts';

/** The image routes serve images only: right extension AND right first bytes; a changed photo is 410 and marked. */

let fx: Fixture;
let api: PlumageApi;
let server: RunningServer;

/** The stored file status, read from the database file as another process would. */
function fileStatus(id: number): string {
  const db = new Database(join(fx.home, 'plumage.db'), { readonly: true });
  try {
    return (db.prepare('SELECT file_status FROM images WHERE id = ?').get(id) as { file_status: string }).file_status;
  } finally {
    db.close();
  }
}

function status(path: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: `${path}?token=${server.token}` }, (res) => {
      res.resume();
      done(res.statusCode!);
    });
    req.on('error', fail);
    req.end();
  });
}

beforeAll(async () => {
  fx = await makeFixture(4);
  writeFileSync(join(fx.root, 'a', 'openssl.cnf'), '[ req ]\ndefault_bits = 2048\n');
  writeFileSync(join(fx.root, 'a', 'config.jpg'), '[ req ]\ndefault_bits = 2048\n');
  writeFileSync(join(fx.root, 'a', 'drawing.png'), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  writeFileSync(join(fx.root, 'a', 'img.gif'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0])); // PNG signature, .gif name
  api = createApi({ home: fx.home, log: () => {} });
  server = await startServer({ api, staticDir: resolve(fx.dir, 'no-dist'), log: () => {} });
});

afterAll(async () => {
  await server?.close();
  api?.close();
  fx?.cleanup();
});

describe('image routes serve images only', () => {
  it('serves a real PNG by path and by id', async () => {
    expect(await status(`/file/${fx.collectionId}/a/img00000.png`)).toBe(200);
    expect(await status(`/image/${fx.imageIds[0]}`)).toBe(200);
  });

  it('serves a PNG named .gif as the PNG it is (import accepts it too)', async () => {
    expect(await status(`/file/${fx.collectionId}/a/img.gif`)).toBe(200);
  });

  for (const name of ['openssl.cnf', 'config.jpg', 'drawing.png']) {
    it(`refuses ${name} (not an image by extension and content)`, async () => {
      expect(await status(`/file/${fx.collectionId}/a/${name}`)).toBe(404);
    });
  }

  it('a photo replaced by a non-image after import: /image and /thumb 410, marked changed', async () => {
    writeFileSync(join(fx.root, 'b', 'img00001.png'), 'not a png any more');
    expect(await status(`/image/${fx.imageIds[1]}`)).toBe(410);
    expect(await status(`/thumb/${fx.imageIds[1]}`)).toBe(410);
    expect(fileStatus(fx.imageIds[1])).toBe('changed');
  });

  it('a photo damaged after import (signature kept, data gone): /thumb answers 410, not 500', async () => {
    writeFileSync(join(fx.root, 'a', 'img00002.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    expect(await status(`/thumb/${fx.imageIds[2]}`)).toBe(410);
    expect(fileStatus(fx.imageIds[2])).toBe('changed');
  });

  it('a photo replaced by another valid photo: 410 and changed; the imported bytes back: 200 and ok again', async () => {
    const path = join(fx.root, 'b', 'img00003.png');
    const original = readFileSync(path);
    writeFileSync(path, await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } }).png().toBuffer());
    const pushed: number[][] = [];
    const off = api.on('images:changed', (m) => pushed.push(m.imageIds));
    expect(await status(`/image/${fx.imageIds[3]}`)).toBe(410);
    expect(await status(`/thumb/${fx.imageIds[3]}`)).toBe(410);
    expect(fileStatus(fx.imageIds[3])).toBe('changed');
    // The window is told once, so the gallery re-reads the photo and shows its badge.
    await waitUntil(() => pushed.length > 0, 'the images:changed push');
    await new Promise((r) => setTimeout(r, 400)); // twice the burst window: a second push would be here by now
    off();
    expect(pushed).toHaveLength(1); // one push for the burst (it may also carry the photos marked just before)
    expect(pushed[0]).toContain(fx.imageIds[3]);
    const page = (await api.invoke('images:query', { fileStatus: 'changed' })).result as ImagePage;
    expect(page.items.map((i) => i.id).sort()).toEqual([fx.imageIds[1], fx.imageIds[2], fx.imageIds[3]].sort());
    expect(page.items.find((i) => i.id === fx.imageIds[3])?.fileStatus).toBe('changed');
    writeFileSync(path, original); // same bytes, new modification time
    expect(await status(`/thumb/${fx.imageIds[3]}`)).toBe(200);
    expect(fileStatus(fx.imageIds[3])).toBe('ok');
  });

  it('a photo whose file was deleted: 404 and marked missing', async () => {
    const path = join(fx.root, 'a', 'img00000.png');
    const original = readFileSync(path);
    rmSync(path);
    expect(await status(`/image/${fx.imageIds[0]}`)).toBe(404);
    expect(fileStatus(fx.imageIds[0])).toBe('missing');
    writeFileSync(path, original);
    expect(await status(`/image/${fx.imageIds[0]}`)).toBe(200);
    expect(fileStatus(fx.imageIds[0])).toBe('ok');
  });

  it('/file/<collection>/<path> of an imported photo checks it as /image does: 410 changed, 404 missing, 200 ok, each told to the window', async () => {
    const [id, rel] = [fx.imageIds[0], 'a/img00000.png'];
    const path = join(fx.root, rel);
    const original = readFileSync(path);
    const route = `/file/${fx.collectionId}/${rel}`;
    const pushed: number[] = [];
    const off = api.on('images:changed', (m) => pushed.push(...m.imageIds));
    // The pushes of a burst go out together 200 ms after its first change.
    const told = (times: number) => expect.poll(() => pushed.filter((p) => p === id).length, { timeout: 5000 }).toBe(times);
    try {
      writeFileSync(path, await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0000ff' } }).png().toBuffer());
      expect(await status(route)).toBe(410);
      expect(fileStatus(id)).toBe('changed');
      await told(1);
      rmSync(path);
      expect(await status(route)).toBe(404);
      expect(fileStatus(id)).toBe('missing');
      await told(2);
      writeFileSync(path, original);
      expect(await status(route)).toBe(200);
      expect(fileStatus(id)).toBe('ok');
      await told(3);
    } finally {
      off();
    }
    // A file of the collection that was never imported is served without a status to keep.
    expect(await status(`/file/${fx.collectionId}/a/img.gif`)).toBe(200);
  });

  it('sniffs the formats the importers accept', () => {
    expect(sniffFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffFormat(Buffer.from('GIF89a'))).toBe('gif');
    expect(sniffFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(sniffFormat(Buffer.from('II*\0'))).toBe('tiff');
    expect(sniffFormat(Buffer.from('\0\0\0\x1cftypavif'))).toBe('avif');
    expect(sniffFormat(Buffer.from('<?xml version="1.0"?><svg'))).toBeNull();
    expect(sniffFormat(Buffer.alloc(0))).toBeNull();
  });
});
