import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { startServer, type RunningServer } from '../../src-main/serve/server.ts';
import { MAX_FRAME } from '../../src-main/serve/websocket.ts';
import { encodeFrame, jsonFrame, rawConnect, type RawClient } from '../helpers/raw-ws.ts';
import { makeFixture, type Fixture } from '../unit/api-fixture.ts';

/**
 * Malformed WebSocket frames sent byte for byte over TCP: each must close only its own
 * connection, with the close code RFC 6455 prescribes, and the server must keep answering.
 */

let fx: Fixture;
let api: PlumageApi;
let server: RunningServer;
const logs: string[] = [];

beforeAll(async () => {
  fx = await makeFixture(3);
  api = createApi({ home: fx.home, log: (l) => logs.push(l) });
  server = await startServer({ api, staticDir: resolve(fx.dir, 'no-dist'), log: (l) => logs.push(l) });
});

afterAll(async () => {
  await server?.close();
  api?.close();
  fx?.cleanup();
});

const open = () => rawConnect(server.port, server.token);

/** A fresh connection still gets answers: the process and the server are alive. */
async function assertAlive() {
  const c = await open();
  c.write(jsonFrame({ kind: 'invoke', id: 7, channel: 'collections:list' }));
  const m = await c.nextJson((x) => x.id === 7);
  expect(m.result[0].name).toBe('birds');
  c.end();
}

/** Sends the bytes and returns the close code the server answered with. */
async function closeCodeFor(bytes: Buffer, after?: (c: RawClient) => void): Promise<number | null> {
  const c = await open();
  c.write(bytes);
  after?.(c);
  const code = await c.closed;
  return code;
}

const text = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s) : s);
const closePayload = (code: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return b;
};

describe('plumage serve: malformed WebSocket frames close only their connection', () => {
  const cases: [string, () => Buffer, number][] = [
    ['invalid UTF-8 in a text frame', () => encodeFrame({ opcode: 1, payload: Buffer.from([0xff, 0xfe, 0xfd]) }), 1007],
    ['the RSV1 bit without an extension', () => encodeFrame({ opcode: 1, rsv: 4, payload: text('{}') }), 1002],
    ['an unmasked client frame', () => encodeFrame({ opcode: 1, masked: false, payload: text('{}') }), 1002],
    ['close code 999', () => encodeFrame({ opcode: 8, payload: closePayload(999) }), 1002],
    ['a reserved opcode', () => encodeFrame({ opcode: 3, payload: text('x') }), 1002],
    ['a fragmented ping', () => encodeFrame({ opcode: 9, fin: false, payload: text('x') }), 1002],
    ['a continuation without a start', () => encodeFrame({ opcode: 0, payload: text('x') }), 1002],
    ['a 64 MiB length header', () => encodeFrame({ opcode: 1, declaredLength: 64 * 1024 * 1024 }), 1009],
    ['a 2^53 length header', () => encodeFrame({ opcode: 2, declaredLength: 2 ** 53 - 1 }), 1009],
  ];
  for (const [name, frame, code] of cases) {
    it(`${name} → close ${code}`, async () => {
      expect(await closeCodeFor(frame())).toBe(code);
      await assertAlive();
    });
  }

  it('a 200 MiB captions:save frame is cut off at the header with 1009', async () => {
    const declared = 200 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const code = await closeCodeFor(encodeFrame({ opcode: 1, declaredLength: declared }), (c) => {
      for (let i = 0; i < 8; i++) c.write(chunk); // keep streaming: the server must not buffer it
    });
    expect(code).toBe(1009);
    await assertAlive();
  });

  it('fragments adding up to more than the limit → 1009', async () => {
    const part = Buffer.alloc(MAX_FRAME / 2 + 1, 0x61);
    const bytes = Buffer.concat([
      encodeFrame({ opcode: 1, fin: false, payload: part }),
      encodeFrame({ opcode: 0, fin: false, payload: part }),
    ]);
    expect(await closeCodeFor(bytes)).toBe(1009);
    await assertAlive();
  });

  it('a 5 MiB captions:save (under the frame limit) is refused by the schema, connection kept', async () => {
    const c = await open();
    const big = 'a'.repeat(5 * 1024 * 1024);
    c.write(jsonFrame({ kind: 'invoke', id: 1, channel: 'captions:save', req: { imageId: fx.imageIds[0], text: big } }));
    const m = await c.nextJson((x) => x.id === 1, 20_000);
    expect(m.error.code).toBe('invalid_request');
    c.write(jsonFrame({ kind: 'invoke', id: 2, channel: 'collections:list' }));
    expect((await c.nextJson((x) => x.id === 2)).result).toHaveLength(1);
    c.end();
  });

  it('other connections are untouched while one is closed for a protocol error', async () => {
    const bystander = await open();
    expect(await closeCodeFor(encodeFrame({ opcode: 1, rsv: 2, payload: text('{}') }))).toBe(1002);
    bystander.write(jsonFrame({ kind: 'invoke', id: 3, channel: 'collections:list' }));
    expect((await bystander.nextJson((x) => x.id === 3)).result).toHaveLength(1);
    bystander.end();
  });

  it('garbage instead of an HTTP request and a reset mid-handshake do not stop the server', async () => {
    const { connect } = await import('node:net');
    await new Promise<void>((done) => {
      const s = connect(server.port, '127.0.0.1', () => s.end('\x00\xff garbage \r\n\r\n'));
      s.on('error', () => done());
      s.on('close', () => done());
    });
    await new Promise<void>((done) => {
      const s = connect(server.port, '127.0.0.1', () => {
        s.write(`GET /ws?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n`);
        s.resetAndDestroy();
        done();
      });
      s.on('error', () => {});
    });
    await assertAlive();
  });

  it('logs the protocol errors in one line each, without stack traces', () => {
    const lines = logs.filter((l) => l.includes('closed a WebSocket connection'));
    expect(lines.length).toBeGreaterThanOrEqual(cases.length);
    for (const l of lines) expect(l).not.toContain('\n');
  });
});
