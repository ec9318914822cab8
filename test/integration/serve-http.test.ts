import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeFixture, type Fixture } from '../unit/api-fixture.ts';
import { waitUntil } from '../helpers/wait.ts';

/**
 * Browser mode end to end: the real `node bin/plumage.js serve --home H --json` as a child process,
 * hit with raw HTTP (so that no client normalises the attack paths) and a WebSocket client.
 */

const repo = resolve(import.meta.dirname, '../..');
let fx: Fixture;
let child: ChildProcess;
let base: string; // http://127.0.0.1:PORT
let token: string;
let evilImageId: number;
const SECRET = 'TOP-SECRET-OUTSIDE-ROOT';
let stdoutText = '';

/** GET with the path sent byte for byte as given. */
function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const u = new URL(base);
  return new Promise((done, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

function connect(query: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((done, fail) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws${query}`, { headers });
    ws.once('open', () => done(ws));
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', fail);
  });
}

function rpc(ws: WebSocket) {
  let next = 1;
  const pending = new Map<number, (m: any) => void>();
  const pushes: any[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.kind === 'push') pushes.push(m);
    else pending.get(m.id)?.(m);
  });
  return {
    pushes,
    invoke: (channel: string, req?: unknown) =>
      new Promise<any>((done) => {
        const id = next++;
        pending.set(id, done);
        ws.send(JSON.stringify({ kind: 'invoke', id, channel, req }));
      }),
  };
}

beforeAll(async () => {
  fx = await makeFixture(4);
  // Things outside the collection root that attacks aim at.
  writeFileSync(join(fx.dir, 'secret.txt'), SECRET);
  mkdirSync(join(fx.dir, 'outside'));
  writeFileSync(join(fx.dir, 'outside', 'x.png'), SECRET);
  symlinkSync(join(fx.dir, 'secret.txt'), join(fx.root, 'a', 'link.png'));
  symlinkSync(join(fx.dir, 'outside'), join(fx.root, 'linkdir'));
  // An image row whose stored path escapes its root (a tampered or buggy database).
  const db = new Database(join(fx.home, 'plumage.db'));
  evilImageId = Number(
    db
      .prepare(
        `INSERT INTO images(collection_id, rel_path, file_name, content_hash, bytes, mtime_ms, width, height)
         VALUES (?, '../secret.txt', 'secret.txt', ?, 1, 0, 1, 1)`,
      )
      .run(fx.collectionId, 'f'.repeat(64)).lastInsertRowid,
  );
  db.close();
  mkdirSync(join(fx.dir, 'incoming'));
  child = spawn(process.execPath, ['bin/plumage.js', 'serve', '--home', fx.home, '--allow', join(fx.dir, 'incoming'), '--json'], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stdoutText += d));
  const line = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout! }).once('line', done);
    child.once('exit', (code) => fail(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const { url } = JSON.parse(line);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
  const u = new URL(url);
  base = `${u.protocol}//${u.host}`;
  token = u.searchParams.get('token')!;
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  fx?.cleanup();
});

describe('plumage serve: authentication and headers', () => {
  it('refuses every route without the right token', async () => {
    for (const path of ['/', '/index.html', `/image/${fx.imageIds[0]}`, `/thumb/${fx.imageIds[0]}`, '/ws']) {
      expect((await get(path)).status, path).toBe(403);
      expect((await get(`${path}?token=${'0'.repeat(64)}`)).status, path).toBe(403);
      expect((await get(`${path}?token=${token.slice(0, 63)}`)).status, path).toBe(403);
    }
    await expect(connect('')).rejects.toThrow('403');
    await expect(connect(`?token=${token}x`)).rejects.toThrow('403');
  });

  it('serves the index with CSP, nosniff, an HttpOnly cookie and no CORS', async () => {
    const r = await get(`/?token=${token}`, { Origin: 'https://evil.example' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.headers['content-security-policy']).toBe(
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' ws://127.0.0.1:*; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toContain(`plumage_token=${token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    // the cookie alone authenticates (for <img> and asset requests)
    expect((await get(`/image/${fx.imageIds[0]}`, { Cookie: `plumage_token=${token}` })).status).toBe(200);
    expect((await get(`/image/${fx.imageIds[0]}`, { Cookie: `plumage_token=nope` })).status).toBe(403);
  });

  it('refuses a foreign Host (DNS rebinding) and non-GET methods', async () => {
    expect((await get(`/?token=${token}`, { Host: 'evil.example' })).status).toBe(403);
    const u = new URL(base);
    const status = await new Promise<number>((done) => {
      const req = request({ host: u.hostname, port: u.port, path: `/?token=${token}`, method: 'POST' }, (res) => {
        res.resume();
        done(res.statusCode!);
      });
      req.end();
    });
    expect(status).toBe(405);
  });
});

describe('plumage serve: images', () => {
  it('serves an original and a 256-px JPEG thumbnail by id', async () => {
    const img = await get(`/image/${fx.imageIds[1]}?token=${token}`);
    expect(img.status).toBe(200);
    expect(img.headers['content-type']).toBe('image/png');
    expect((await sharp(img.body).metadata()).width).toBe(8);
    const th = await get(`/thumb/${fx.imageIds[1]}?token=${token}`);
    expect(th.status).toBe(200);
    expect(th.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(th.body).metadata()).format).toBe('jpeg');
    expect((await get(`/image/999999?token=${token}`)).status).toBe(404);
    expect((await get(`/image/abc?token=${token}`)).status).toBe(400);
  });

  it('serves files inside the collection root by path', async () => {
    const r = await get(`/file/${fx.collectionId}/a/img00000.png?token=${token}`);
    expect(r.status).toBe(200);
  });

  const attacks = [
    '../secret.txt',
    '../../secret.txt',
    'a/../../secret.txt',
    '%2e%2e/secret.txt',
    '%2e%2e%2fsecret.txt',
    'a%2f..%2f..%2fsecret.txt',
    '%252e%252e%252fsecret.txt',
    '%252e%252e/secret.txt',
    '..%5csecret.txt',
    '..\\secret.txt',
    'a\\..\\..\\secret.txt',
    '%2fetc%2fpasswd',
    '/etc/passwd',
    '%2F' + 'tmp',
    'C:%5cWindows%5cwin.ini',
    'a/img00000.png%00.txt',
    '%00',
    'a/link.png', // symlink to a file outside the root
    'linkdir/x.png', // symlinked folder outside the root
    '%c0%ae%c0%ae/secret.txt', // overlong UTF-8
  ];
  for (const attack of attacks) {
    it(`refuses /file/<collection>/${attack}`, async () => {
      const r = await get(`/file/${fx.collectionId}/${attack}?token=${token}`);
      expect([400, 404]).toContain(r.status);
      expect(r.body.toString()).not.toContain(SECRET);
    });
  }

  it('refuses an image row whose stored path escapes the root', async () => {
    for (const route of ['image', 'thumb']) {
      const r = await get(`/${route}/${evilImageId}?token=${token}`);
      expect(r.status).toBe(404);
      expect(r.body.toString()).not.toContain(SECRET);
    }
  });

  it('refuses escapes from the static folder', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/%252e%252e/package.json', '/..%5cpackage.json']) {
      const r = await get(`${p}?token=${token}`);
      expect([400, 404]).toContain(r.status);
      expect(r.body.toString()).not.toContain('"name": "plumage"');
    }
  });
});

describe('plumage serve: WebSocket api', () => {
  it('reads folders only inside the workspace and the --allow folders, never a system folder', async () => {
    const ws = await connect(`?token=${token}`);
    const api = rpc(ws);
    const refused = async (channel: string, req: unknown, why: RegExp) => {
      const r = await api.invoke(channel, req);
      expect(r.result, JSON.stringify(req)).toBeUndefined();
      expect(r.error.code).toBe('invalid_request');
      expect(r.error.message).toMatch(why);
      expect(r.error.message).not.toMatch(/\n/);
    };
    for (const path of ['/etc', '/proc/self', '/usr/share', '/sys'])
      await refused('import:start', { kind: 'folder', path }, /is a system folder: Plumage does not read photos from it$/);
    await refused('import:start', { kind: 'folder', path: '/' }, /root of a drive/);
    await refused('import:start', { kind: 'folder', path: fx.root }, /outside the folders this window may read: .* --allow /);
    await refused('import:start', { kind: 'cub', path: join(fx.dir, 'incoming'), captions: '/etc' }, /system folder/);
    await refused('import:start', { kind: 'folder', path: join(fx.dir, 'incoming', '..', 'photos') }, /outside the folders/);
    await refused('caption:start', { folder: '/etc' }, /system folder/);
    await refused('caption:start', { folder: fx.dir }, /outside the folders/);
    // a symbolic link inside an allowed folder does not lead out of it
    symlinkSync('/etc', join(fx.dir, 'incoming', 'etc-link'));
    await refused('import:start', { kind: 'folder', path: join(fx.dir, 'incoming', 'etc-link') }, /system folder/);
    rmSync(join(fx.dir, 'incoming', 'etc-link'));
    expect(await api.invoke('jobs:list')).toMatchObject({ result: [] }); // no job was started
    ws.close();
  });

  it('refuses an upgrade from a foreign Origin', async () => {
    await expect(connect(`?token=${token}`, { Origin: 'http://evil.example' })).rejects.toThrow('403');
    await expect(connect(`?token=${token}`, { Origin: 'null' })).rejects.toThrow('403');
    const ws = await connect(`?token=${token}`, { Origin: base });
    ws.close();
  });

  it('round-trips invokes, errors as envelopes, and pushes changes', async () => {
    const ws = await connect(`?token=${token}`);
    const api = rpc(ws);
    const page = await api.invoke('images:query', { limit: 2 });
    expect(page.kind).toBe('result');
    expect(page.result.total).toBe(5);
    expect(page.result.items).toHaveLength(2);
    const bad = await api.invoke('images:query', { limit: 'all' });
    expect(bad.result).toBeUndefined();
    expect(bad.error.code).toBe('invalid_request');
    expect(JSON.stringify(bad)).not.toMatch(/\bat .*\.ts:\d+/);
    const unknown = await api.invoke('fs:read', { path: '/etc/passwd' });
    expect(unknown.error.code).toBe('invalid_request');

    const set = await api.invoke('labels:set', { imageIds: [fx.imageIds[0]], classId: fx.classIds[1] });
    expect(set.result).toEqual({ changed: 1 });
    const pushedLabel = { kind: 'push', channel: 'images:changed', msg: { imageIds: [fx.imageIds[0]] } };
    await waitUntil(() => api.pushes.some((p) => JSON.stringify(p) === JSON.stringify(pushedLabel)), 'the images:changed push');
    expect(api.pushes).toContainEqual(pushedLabel);
    const undo = await api.invoke('edits:undo');
    expect(undo.result.undone).toBe(true);

    // a job started over the socket reports its progress as pushes until it is done
    const incoming = join(fx.dir, 'incoming', 'Robin'); // inside the folder allowed with --allow
    mkdirSync(incoming, { recursive: true });
    writeFileSync(join(incoming, 'r1.png'), readFileSync(join(fx.root, 'a', 'img00000.png')));
    const started = await api.invoke('import:start', { kind: 'folder', path: join(fx.dir, 'incoming') });
    const jobId = started.result.jobId;
    const ended = () => api.pushes.some((p) => p.channel === 'job:progress' && p.msg.id === jobId && p.msg.status !== 'running');
    await waitUntil(ended, 'the import job to end');
    const progress = api.pushes.filter((p) => p.channel === 'job:progress' && p.msg.id === jobId);
    expect(progress[0].msg).toMatchObject({ kind: 'import', status: 'running' });
    expect(progress.at(-1).msg).toMatchObject({ status: 'done', result: { images: 1, added: 1 } });

    // fire-and-forget and garbage frames do not break the connection
    ws.send(JSON.stringify({ kind: 'send', channel: 'log:renderer', msg: { level: 'info', message: 'hello' } }));
    ws.send('not json');
    ws.send(JSON.stringify({ kind: 'invoke', id: 'x', channel: 'app:info' }));
    const info = await api.invoke('app:info');
    expect(info.result.home).toBe(resolve(fx.home));
    ws.close();
  });
});

describe('plumage serve: command line', () => {
  it('refuses a bad --port with a one-line reason and exit code 2', () => {
    const r = spawnSync(process.execPath, ['bin/plumage.js', 'serve', '--home', fx.home, '--port', '70000'], { cwd: repo, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(["plumage: --port must be 0..65535, got '70000'"]);
  });

  it('refuses --allow of a system folder or of something that is not a folder, before listening', () => {
    const run = (dir: string) => spawnSync(process.execPath, ['bin/plumage.js', 'serve', '--home', fx.home, '--allow', dir], { cwd: repo, encoding: 'utf8' });
    const etc = run('/etc');
    expect(etc.status).toBe(2);
    expect(etc.stderr.trim().split('\n')).toEqual(["plumage: --allow: '/etc' is a system folder: Plumage does not read photos from it"]);
    const file = run(join(fx.root, 'a', 'img00000.png'));
    expect(file.status).toBe(2);
    expect(file.stderr).toMatch(/^plumage: --allow: not a folder: /);
  });

  it('printed exactly one JSON line and stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdoutText.trim().split('\n')).toHaveLength(1);
    expect(Object.keys(JSON.parse(stdoutText))).toEqual(['url']);
  });
});
