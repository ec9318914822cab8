import { describe, expect, it } from 'vitest';
import { ApiError } from '../../shared/ipc.ts';
import { createWsApi, fromElectronBridge, mediaUrls, unwrapResult, wsUrlFor, type SocketLike } from '../../src-renderer/src/lib/api.ts';
import { UndoClient } from '../../src-renderer/src/lib/undo.ts';
import { PagedImages } from '../../src-renderer/src/lib/pages.ts';
import type { ImageQuery, ImageSummary } from '../../shared/types.ts';
import { waitUntil } from '../helpers/wait.ts';

/** A WebSocket stand-in that records frames and lets the test play the server. */
class FakeSocket implements SocketLike {
  readyState = 0;
  sent: any[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
    this.onclose?.({});
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  reply(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const api = createWsApi('ws://x/ws?token=t', () => {
    const s = new FakeSocket();
    sockets.push(s);
    return s;
  }, 1);
  return { api, sockets };
}

describe('Api client envelope handling', () => {
  it('unwraps results and rethrows errors as ApiError with their code', () => {
    expect(unwrapResult({ result: { a: 1 } })).toEqual({ a: 1 });
    expect(unwrapResult({ result: null })).toBeNull();
    try {
      unwrapResult({ error: { message: 'no image 7', code: 'not_found' } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe('not_found');
      expect((e as ApiError).message).toBe('no image 7');
    }
    expect(() => unwrapResult({ error: { message: 42 } as any })).toThrow(/unknown error/);
  });

  it('queues invokes until open, sends the agreed frames, and matches results by id', async () => {
    const { api, sockets } = setup();
    const a = api.invoke('images:get', { id: 3 });
    const b = api.invoke('app:info', undefined);
    expect(sockets[0].sent).toEqual([]);
    sockets[0].open();
    expect(sockets[0].sent).toEqual([
      { kind: 'invoke', id: 1, channel: 'images:get', req: { id: 3 } },
      { kind: 'invoke', id: 2, channel: 'app:info', req: null },
    ]);
    // answers out of order
    sockets[0].reply({ kind: 'result', id: 2, result: { version: '1', backend: 'wasm', home: '/h', warnings: [] } });
    sockets[0].reply({ kind: 'result', id: 1, error: { message: 'no image 3', code: 'not_found' } });
    await expect(b).resolves.toMatchObject({ backend: 'wasm' });
    await expect(a).rejects.toMatchObject({ name: 'ApiError', code: 'not_found' });
    expect(api.pendingCount()).toBe(0);
    api.send('log:renderer', { level: 'info', message: 'hi' });
    expect(sockets[0].sent[2]).toEqual({ kind: 'send', channel: 'log:renderer', msg: { level: 'info', message: 'hi' } });
  });

  it('delivers pushes to listeners until they unsubscribe; ignores junk frames', () => {
    const { api, sockets } = setup();
    sockets[0].open();
    const got: unknown[] = [];
    const off = api.on('images:changed', (m) => got.push(m));
    sockets[0].reply({ kind: 'push', channel: 'images:changed', msg: { imageIds: [1, 2] } });
    sockets[0].onmessage?.({ data: 'not json' });
    sockets[0].reply({ kind: 'result', id: 999, result: 1 }); // unknown id
    off();
    sockets[0].reply({ kind: 'push', channel: 'images:changed', msg: { imageIds: [3] } });
    expect(got).toEqual([{ imageIds: [1, 2] }]);
  });

  it('fails pending invokes with code "disconnected" when the socket drops, then reconnects', async () => {
    const { api, sockets } = setup();
    sockets[0].open();
    const p = api.invoke('collections:list', undefined);
    sockets[0].close();
    await expect(p).rejects.toMatchObject({ code: 'disconnected' });
    await waitUntil(() => sockets.length > 1, 'the reconnect (1 ms back-off)');
    expect(sockets.length).toBe(2);
    api.close();
  });

  it('builds media and WebSocket URLs for both modes', () => {
    expect(mediaUrls('electron').thumbUrl(5)).toBe('plumage-image://thumb/5');
    expect(mediaUrls('electron').imageUrl(5)).toBe('plumage-image://image/5');
    expect(mediaUrls('browser', 'ab12').thumbUrl(5)).toBe('/thumb/5?token=ab12');
    expect(mediaUrls('browser', 'ab12').imageUrl(7)).toBe('/image/7?token=ab12');
    expect(mediaUrls('electron').batchThumbUrl(3, 9)).toBe('plumage-image://batch-thumb/3/9');
    expect(mediaUrls('browser', 'ab12').batchThumbUrl(3, 9)).toBe('/batch-thumb/3/9?token=ab12');
    expect(wsUrlFor('http://127.0.0.1:4567/?token=zz', 'zz')).toBe('ws://127.0.0.1:4567/ws?token=zz');
    expect(wsUrlFor('https://h:1/', 'a b')).toBe('wss://h:1/ws?token=a%20b');
  });
});

describe('Electron bridge', () => {
  it('unwraps invokeEnvelope so ApiError keeps its code across contextBridge', async () => {
    const calls: string[] = [];
    const bridge = {
      invoke: async () => {
        throw new Error('plain invoke must not be used when invokeEnvelope exists');
      },
      invokeEnvelope: async (channel: string, req: any) => {
        calls.push(channel);
        return req?.id === 1 ? { result: { id: 1 } } : { error: { message: 'no image 2', code: 'not_found' } };
      },
      send: () => {},
      on: () => () => {},
    } as any;
    const api = fromElectronBridge(bridge);
    await expect(api.invoke('images:get', { id: 1 })).resolves.toEqual({ id: 1 });
    await expect(api.invoke('images:get', { id: 2 })).rejects.toMatchObject({ name: 'ApiError', code: 'not_found' });
    expect(calls).toEqual(['images:get', 'images:get']);
    // A bridge without invokeEnvelope is used as is.
    const plain = fromElectronBridge({ invoke: async () => 42, send: () => {}, on: () => () => {} } as any);
    await expect(plain.invoke('app:info', undefined)).resolves.toBe(42);
  });
});

describe('undo client', () => {
  it('serialises undo/redo and reports which photos changed', async () => {
    const calls: string[] = [];
    let depth = 2;
    const fake = {
      invoke: async (channel: string) => {
        calls.push(`start ${channel}`);
        await new Promise((r) => setTimeout(r, 5));
        calls.push(`end ${channel}`);
        if (channel === 'edits:undo') {
          if (depth === 0) return { undone: false, imageIds: [] };
          depth--;
          return { undone: true, imageIds: [depth + 1, 9] };
        }
        depth++;
        return { redone: true, imageIds: [depth] };
      },
    } as any;
    const outcomes: string[] = [];
    const u = new UndoClient(fake, (o) => outcomes.push(o.message));
    const [a, b, c] = await Promise.all([u.undo(), u.undo(), u.undo()]);
    expect(calls.slice(0, 4)).toEqual(['start edits:undo', 'end edits:undo', 'start edits:undo', 'end edits:undo']);
    expect(a).toMatchObject({ op: 'undo', applied: true, imageIds: [2, 9] });
    expect(b.applied).toBe(true);
    expect(c).toMatchObject({ applied: false, message: 'Nothing to undo' });
    const r = await u.redo();
    expect(r).toMatchObject({ op: 'redo', applied: true, imageIds: [1] });
    expect(outcomes).toEqual(['Undid an edit on 2 photos', 'Undid an edit on 2 photos', 'Nothing to undo', 'Redid an edit on 1 photo']);
  });

  it('keeps working after a failed call', async () => {
    let fail = true;
    const fake = {
      invoke: async () => {
        if (fail) {
          fail = false;
          throw new ApiError('db locked', 'internal');
        }
        return { undone: true, imageIds: [4] };
      },
    } as any;
    const u = new UndoClient(fake);
    await expect(u.undo()).rejects.toMatchObject({ code: 'internal' });
    await expect(u.undo()).resolves.toMatchObject({ applied: true, imageIds: [4] });
  });
});

describe('paged gallery list', () => {
  const all: ImageSummary[] = Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, fileName: `f${i}.jpg` }) as ImageSummary);

  it('fetches pages lazily, once each, and drops answers for a replaced query', async () => {
    const asked: ImageQuery[] = [];
    const fetch = async (q: ImageQuery) => {
      asked.push(q);
      await new Promise((r) => setTimeout(r, 2));
      const items = all.filter((x) => !q.search || x.fileName.includes(q.search));
      return { total: items.length, offset: q.offset ?? 0, items: items.slice(q.offset, (q.offset ?? 0) + (q.limit ?? 0)) };
    };
    const p = new PagedImages(fetch, {}, 100);
    await p.setQuery({ sort: 'path' });
    expect(p.total).toBe(1000);
    expect(p.at(5)?.id).toBe(6);
    expect(p.at(150)).toBeUndefined();
    await Promise.all([p.ensure([1, 2]), p.ensure([1])]);
    expect(asked.map((q) => q.offset)).toEqual([0, 100, 200]);
    expect(p.at(150)?.id).toBe(151);
    expect(p.indexOf(151)).toBe(150);
    // beyond the end: not fetched
    await p.ensure([10]);
    expect(asked.length).toBe(3);
    // a page in flight for the old query must not land in the new one
    const late = p.ensure([5]);
    await p.setQuery({ search: 'f99' });
    await late;
    expect(p.total).toBe(11); // f99, f990..f999
    expect(p.at(0)?.fileName).toBe('f99.jpg');
    expect(p.has(5)).toBe(false);
  });

  it('refresh keeps the old tiles until the new page arrives, then swaps them in', async () => {
    let label = 'old';
    let release: () => void = () => {};
    const fetch = async (q: ImageQuery) => {
      if (label === 'new') await new Promise<void>((r) => (release = r));
      return { total: 3, offset: q.offset ?? 0, items: [1, 2, 3].map((id) => ({ id, fileName: `${label}${id}` }) as ImageSummary) };
    };
    const p = new PagedImages(fetch, {}, 10);
    await p.setQuery({});
    label = 'new';
    const done = p.refresh([0]);
    await new Promise((r) => setTimeout(r, 5));
    expect(p.at(0)?.fileName).toBe('old1'); // still on screen while the refresh is in flight
    release();
    await done;
    expect(p.at(0)?.fileName).toBe('new1');
  });

  it('records an error instead of throwing', async () => {
    const p = new PagedImages(async () => {
      throw new ApiError('bad query', 'invalid_request');
    });
    await p.setQuery({});
    expect(p.ready).toBe(true);
    expect(p.error).toBe('bad query');
  });
});
