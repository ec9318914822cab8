/**
 * A folder dropped on the window: Import opens with it once; in a browser (no desktop bridge) with
 * a sentence asking for the path instead; in the desktop app with the grant the bridge answers, or
 * a plain sentence when there is none or it fails. A drop never replaces a dialog that is open,
 * including one opened while the grant was being asked for. Each test gets fresh store modules.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Chosen } from '../../src-renderer/src/lib/choose.ts';

const fake = await vi.hoisted(async () => new (await import('./fake-api.ts')).FakeApi());
vi.mock('../../src-renderer/src/lib/api.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), api: fake }));

let windowDrop: typeof import('../../src-renderer/src/stores/window-drop.svelte.ts').windowDrop;
let app: typeof import('../../src-renderer/src/stores/app.svelte.ts').app;

const g = globalThis as { window?: unknown };

/** Fresh store modules; with `grantDropped`, as in the desktop app (choose.ts reads the bridge when it loads). */
async function load(grantDropped?: (file: File) => Promise<Chosen | null>): Promise<void> {
  vi.resetModules();
  if (grantDropped) g.window = { plumage: { grantDropped } };
  ({ windowDrop } = await import('../../src-renderer/src/stores/window-drop.svelte.ts'));
  ({ app } = await import('../../src-renderer/src/stores/app.svelte.ts'));
}

const birds = new File([], 'birds');

beforeEach(() => {
  fake.reset();
  delete g.window;
});

afterEach(() => {
  delete g.window;
});

describe('in a browser', () => {
  it('opens Import once, with a sentence asking for the folder’s path', async () => {
    await load();
    await windowDrop.drop(birds);
    expect(app.dialog).toBe('import');
    const dropped = windowDrop.take();
    expect(dropped?.chosen).toBeNull();
    expect(dropped?.note).toMatch(/does not tell Plumage where “birds” is on disk.*type or paste its full path/);
    expect(windowDrop.take()).toBeNull();
  });

  it('a drop while a dialog is open is ignored: the dialog stays and Import gets nothing later', async () => {
    await load();
    app.dialog = 'help';
    await windowDrop.drop(birds);
    expect(app.dialog).toBe('help');
    expect(windowDrop.take()).toBeNull();
  });
});

describe('in the desktop app', () => {
  it('opens Import with the grant for the dropped folder', async () => {
    const grant = vi.fn(async (f: File) => ({ token: 'tok-1', path: `/home/me/${f.name}` }));
    await load(grant);
    await windowDrop.drop(birds);
    expect(grant).toHaveBeenCalledWith(birds);
    expect(app.dialog).toBe('import');
    expect(windowDrop.take()).toEqual({ chosen: { token: 'tok-1', path: '/home/me/birds' }, note: '' });
  });

  it('something that cannot be granted (not a real drop) asks for Choose… instead', async () => {
    await load(async () => null);
    await windowDrop.drop(birds);
    expect(windowDrop.take()).toEqual({ chosen: null, note: '“birds” cannot be imported by dropping it: choose the folder with Choose….' });
  });

  it('a grant the main side refuses is said in words', async () => {
    const { ApiError } = await import('../../src-renderer/src/lib/api.ts');
    await load(async () => {
      throw new ApiError('the dropped item is not a folder', 'invalid_request');
    });
    await windowDrop.drop(birds);
    expect(app.dialog).toBe('import');
    expect(windowDrop.take()?.note).toBe('That request could not be carried out as asked: the dropped item is not a folder');
  });

  it('a dialog opened while the grant was asked for is not replaced by Import', async () => {
    let answer!: (c: Chosen) => void;
    await load(() => new Promise<Chosen>((r) => (answer = r)));
    const dropping = windowDrop.drop(birds);
    app.dialog = 'species';
    answer({ token: 'tok-2', path: '/home/me/birds' });
    await dropping;
    expect(app.dialog).toBe('species');
    expect(windowDrop.take()).toBeNull();
  });
});
