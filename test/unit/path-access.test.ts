import { mkdirSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathAccess } from '../../src-main/api/path-access.ts';
import { systemFolderProblem } from '../../src-main/api/read-policy.ts';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { createChooser, type DialogLike } from '../../src-main/electron/dialogs.ts';
import { makeFixture, type Fixture } from './api-fixture.ts';

/** Which files the untrusted page can make the main side read or write. */

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture(2);
  mkdirSync(join(fx.dir, 'allowed'));
  symlinkSync('/etc', join(fx.dir, 'allowed', 'etc-link'));
});
afterAll(() => fx?.cleanup());

describe('PathAccess, local mode (browser, CLI)', () => {
  const access = () => new PathAccess(fx.home, { mode: 'local', exportDirs: [join(fx.dir, 'allowed')] });

  it('writes bare names into <home>/exports and paths inside --allow-export-dir folders', () => {
    expect(access().writable('out.csv')).toBe(join(fx.home, 'exports', 'out.csv'));
    expect(access().writable('sub/out.csv')).toBe(join(fx.home, 'exports', 'sub', 'out.csv'));
    expect(access().writable(join(fx.home, 'exports', 'x.csv'))).toMatch(/exports\/x\.csv$/);
    expect(access().writable(join(fx.dir, 'allowed', 'new', 'x.csv'))).toMatch(/allowed\/new\/x\.csv$/);
  });

  it('refuses any other place, traversal and symlink escapes', () => {
    for (const p of ['/etc/cron.d/x', join(fx.home, 'plumage.db'), join(fx.dir, 'elsewhere.csv'), '../x.csv', 'a/../../x', join(fx.dir, 'allowed', 'etc-link', 'x')])
      expect(() => access().writable(p), p).toThrow(/exports|allow-export-dir|exports folder/);
  });

  it('reads typed folders, and grants', () => {
    const a = access();
    expect(a.readable(fx.root)).toBe(fx.root);
    const t = a.grant(fx.root, 'read');
    expect(a.readable(t)).toBe(fx.root);
  });
});

describe('PathAccess, local mode: which folders may be read', () => {
  it('never a system folder, a drive root or the home folder itself, even through a link', () => {
    const a = new PathAccess(fx.home, { mode: 'local' });
    for (const p of ['/etc', '/etc/ssl', '/proc/self', '/sys/kernel', '/usr', '/bin', '/dev', join(fx.dir, 'allowed', 'etc-link')])
      expect(() => a.readable(p), p).toThrow(/is a system folder: Plumage does not read photos from it$/);
    expect(() => a.readable('/')).toThrow(/root of a drive/);
    expect(() => a.readable(homedir())).toThrow(/your home folder itself/);
    expect(a.readable(fx.root)).toBe(fx.root); // no readDirs: any other folder (an embedded, trusted api)
  });

  it('browser mode (readDirs): only inside the workspace and the --allow folders', () => {
    const a = new PathAccess(fx.home, { mode: 'local', readDirs: [join(fx.dir, 'allowed')] });
    mkdirSync(join(fx.home, 'incoming'), { recursive: true });
    expect(a.readable(join(fx.home, 'incoming'))).toBe(join(fx.home, 'incoming'));
    expect(a.readable(join(fx.dir, 'allowed'))).toBe(join(fx.dir, 'allowed'));
    expect(a.readable(join(fx.dir, 'allowed', 'not-yet'))).toBe(join(fx.dir, 'allowed', 'not-yet'));
    for (const p of [fx.root, fx.dir, join(fx.dir, 'allowed', '..', 'photos'), join(fx.dir, 'allowed-not')])
      expect(() => a.readable(p), p).toThrow(/outside the folders this window may read: put the photos in .*, or start plumage serve with --allow /);
    expect(() => a.readable(join(fx.dir, 'allowed', 'etc-link'))).toThrow(/system folder/);
  });

  it('knows the Windows system folders and drive roots, case-insensitively', () => {
    const home = 'C:\\Users\\ann';
    const w = (p: string) => systemFolderProblem(p, 'win32', home);
    expect(w('C:\\Windows\\System32')).toMatch(/system folder/);
    expect(w('c:\\windows')).toMatch(/system folder/);
    expect(w('C:\\Program Files (x86)\\Thing')).toMatch(/system folder/);
    expect(w('D:\\')).toMatch(/root of a drive/);
    expect(w('C:\\Users\\Ann')).toMatch(/home folder itself/);
    expect(w('C:\\Users\\ann\\Pictures')).toBeNull();
    expect(w('C:\\Windowsill\\photos')).toBeNull();
    expect(systemFolderProblem('/home/ann/Pictures', 'linux', '/home/ann')).toBeNull();
    expect(systemFolderProblem('/usrdata/photos', 'linux', '/home/ann')).toBeNull();
  });
});

describe('PathAccess, capability mode (desktop)', () => {
  it('refuses typed paths to read or write outside exports/', () => {
    const a = new PathAccess(fx.home, { mode: 'capability', exportDirs: [fx.dir] });
    expect(() => a.readable(fx.root)).toThrow(/Choose/);
    expect(() => a.writable(join(fx.dir, 'x.csv'))).toThrow(/Save/);
    expect(a.writable('x.csv')).toBe(join(fx.home, 'exports', 'x.csv'));
  });

  it('a grant is one-time, for its use only, and cannot be invented', () => {
    const a = new PathAccess(fx.home, { mode: 'capability' });
    const read = a.grant(fx.root, 'read');
    const write = a.grant('/tmp/out.csv', 'write');
    expect(() => a.writable(read)).toThrow(/expired/);
    const again = a.grant(fx.root, 'read');
    expect(a.readable(again)).toBe(fx.root);
    expect(() => a.readable(again)).toThrow(/expired/);
    expect(a.writable(write)).toBe('/tmp/out.csv');
    expect(() => a.readable(`grant:${'0'.repeat(48)}`)).toThrow(/expired/);
  });
});

describe('dialog:choose and the api', () => {
  let api: PlumageApi;
  let picks: (string | null)[] = [];
  const shown: { properties?: string[] }[] = [];
  beforeAll(() => {
    const dialog: DialogLike = {
      showOpenDialog: async (_w, o) => {
        shown.push(o);
        const p = picks.shift() ?? null;
        return { canceled: p === null, filePaths: p ? [p] : [] };
      },
      showSaveDialog: async () => {
        shown.push({});
        const p = picks.shift() ?? null;
        return { canceled: p === null, filePath: p ?? undefined };
      },
    };
    api = createApi({ home: fx.home, log: () => {}, paths: { mode: 'capability' }, choose: createChooser(dialog, () => null) });
  });
  afterAll(() => api?.close());

  it('desktop: import only through a chosen folder; the token works once', async () => {
    expect((await api.invoke('import:start', { kind: 'folder', path: fx.root })).error?.code).toBe('invalid_request');
    picks = [fx.root];
    const chosen = (await api.invoke('dialog:choose', { purpose: 'folder' })).result as { token: string; path: string };
    expect(chosen.path).toBe(fx.root);
    expect(chosen.token).toMatch(/^grant:[0-9a-f]{48}$/);
    expect((await api.invoke('import:start', { kind: 'folder', path: chosen.token })).result).toHaveProperty('jobId');
    expect((await api.invoke('import:start', { kind: 'folder', path: chosen.token })).error?.message).toMatch(/expired/);
  });

  it('a cancelled dialog answers null; a save grant cannot be used to read', async () => {
    picks = [null];
    expect((await api.invoke('dialog:choose', { purpose: 'save' })).result).toBeNull();
    picks = [join(fx.dir, 'out.csv')];
    const save = (await api.invoke('dialog:choose', { purpose: 'save', defaultName: 'x.csv' })).result as { token: string };
    expect((await api.invoke('caption:start', { folder: save.token })).error?.message).toMatch(/expired/);
    expect(shown.map((o) => o.properties?.[0] ?? 'save')).toEqual(['openDirectory', 'save', 'save']);
  });

  it('browser mode: import:start and caption:start refuse system folders and folders not allowed', async () => {
    const browser = createApi({ home: fx.home, log: () => {}, paths: { mode: 'local', readDirs: [join(fx.dir, 'allowed')] } });
    try {
      const sys = await browser.invoke('import:start', { kind: 'folder', path: '/etc' });
      expect(sys.error).toEqual({ code: 'invalid_request', message: "'/etc' is a system folder: Plumage does not read photos from it" });
      expect((await browser.invoke('caption:start', { folder: fx.root })).error?.message).toMatch(/outside the folders this window may read/);
      expect((await browser.invoke('import:start', { kind: 'folder', path: join(fx.dir, 'allowed') })).result).toHaveProperty('jobId');
    } finally {
      browser.close();
    }
  });

  it('browser mode has no dialogs', async () => {
    const browser = createApi({ home: fx.home, log: () => {} });
    expect((await browser.invoke('dialog:choose', { purpose: 'folder' })).error?.code).toBe('unavailable');
    browser.close();
  });
});
