import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPath } from '../../src-main/api/path-check.ts';
import { createApi } from '../../src-main/api/service.ts';
import { PlumageError } from '../../src-main/util/errors.ts';

/** `paths:check`: what a typed path would give, asked while the person types. */

let dir: string;
let photos: string;
const allowAll = (p: string) => p;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plumage-pathcheck-'));
  photos = join(dir, 'photos');
  mkdirSync(join(photos, 'Cardinal', 'deep'), { recursive: true });
  mkdirSync(join(photos, '.hidden'));
  for (const f of ['a.jpg', 'Cardinal/b.PNG', 'Cardinal/deep/c.webp', 'notes.txt', 'Cardinal/b.txt', '.hidden/d.jpg', '.e.jpg'])
    writeFileSync(join(photos, f), 'x');
  writeFileSync(join(dir, 'captions.json'), '{}');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkPath', () => {
  it('counts the photos of a folder by extension, sub-folders included, hidden entries not', () => {
    expect(checkPath(photos, 'folder', allowAll)).toEqual({ status: 'ok', images: 3, more: false, reason: null });
  });

  it('says missing, the wrong kind, or not a full path', () => {
    expect(checkPath(join(dir, 'nope'), 'folder', allowAll).status).toBe('missing');
    expect(checkPath(join(dir, 'captions.json', 'x'), 'folder', allowAll).status).toBe('missing');
    expect(checkPath(join(dir, 'captions.json'), 'folder', allowAll).status).toBe('not-folder');
    expect(checkPath(join(dir, 'captions.json'), 'file', allowAll).status).toBe('ok');
    expect(checkPath(photos, 'file', allowAll).status).toBe('not-file');
    expect(checkPath('photos/x', 'folder', allowAll).status).toBe('relative');
    // A grant token is not a path: never handed to the policy (which would use it up).
    expect(checkPath(`grant:${'ab'.repeat(24)}`, 'folder', () => { throw new Error('policy asked'); }).status).toBe('relative');
  });

  it('asks the file-access policy first: a refused place is never looked at', () => {
    const refuse = () => {
      throw new PlumageError('invalid_request', 'that is a system folder');
    };
    expect(checkPath(photos, 'folder', refuse)).toEqual({ status: 'refused', images: null, more: false, reason: 'that is a system folder' });
    expect(checkPath(join(dir, 'nope'), 'folder', refuse).status).toBe('refused');
  });

  it('stops counting when the time budget is spent and says so', () => {
    let t = 0;
    const slowClock = () => (t += 1000);
    const r = checkPath(photos, 'folder', allowAll, slowClock);
    expect(r.status).toBe('ok');
    expect(r.more).toBe(true);
    expect(r.images!).toBeLessThan(3);
  });
});

describe('paths:check through the api', () => {
  it('browser mode: a typed folder is checked; a bad request is refused', async () => {
    // The photos lie inside the workspace: browser mode reads there.
    const api = createApi({ home: dir, log: () => {} });
    try {
      expect((await api.invoke('paths:check', { path: photos, expect: 'folder' })).result).toEqual({ status: 'ok', images: 3, more: false, reason: null });
      expect((await api.invoke('paths:check', { path: photos })).error?.code).toBe('invalid_request');
      expect((await api.invoke('paths:check', { path: '', expect: 'folder' })).error?.code).toBe('invalid_request');
    } finally {
      api.close();
    }
  });

  it('browser mode: a system folder is refused with the policy\'s reason, before it is looked at', async () => {
    const api = createApi({ home: dir, log: () => {} });
    try {
      const r = (await api.invoke('paths:check', { path: '/etc', expect: 'folder' })).result as { status: string; images: number | null; reason: string };
      expect(r.status).toBe('refused');
      expect(r.images).toBeNull();
      expect(r.reason).toMatch(/system folder/);
    } finally {
      api.close();
    }
  });

  it('desktop: typed paths are refused with the reason the import would give', async () => {
    const api = createApi({ home: join(dir, 'home2'), log: () => {}, paths: { mode: 'capability' } });
    try {
      const r = (await api.invoke('paths:check', { path: photos, expect: 'folder' })).result as { status: string; reason: string };
      expect(r.status).toBe('refused');
      expect(r.reason).toMatch(/Choose…/);
    } finally {
      api.close();
    }
  });
});
