import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvokeChannel } from '../../shared/ipc.ts';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import { INVOKE_CHANNELS } from '../../src-main/electron/channels.ts';
import { startServer, type RunningServer } from '../../src-main/serve/server.ts';
import { mulberry32 } from '../../src-main/util/rng.ts';
import { encodeFrame, jsonFrame, rawConnect, type RawClient } from '../helpers/raw-ws.ts';
import { makeFixture, type Fixture } from '../unit/api-fixture.ts';
import { recordFaultTotals } from './totals.ts';

/**
 * WebSocket fuzzer: seeded random invalid requests on every invoke channel (unknown keys, wrong
 * types, out-of-range numbers, over-long strings, NUL paths, missing fields), malformed frames
 * (bad JSON, non-objects, binary, unknown kinds, bad ids) and protocol violations, over a real
 * TCP socket. Every invalid request must be answered with an error (never a result), protocol
 * violations must close only their connection, and the server must answer afterwards.
 */

const SEED = 20261201;
const ROUNDS = 600;

/** A request each channel's schema accepts, to mutate into invalid ones. */
const VALID: Record<InvokeChannel, Record<string, unknown> | undefined> = {
  'app:info': undefined,
  'collections:list': undefined,
  'classes:list': { collectionId: 1 },
  'images:query': { limit: 10 },
  'images:ids': { sort: 'path' },
  'images:get': { id: 1 },
  'labels:set': { imageIds: [1], classId: null },
  'review:set': { imageIds: [1], status: 'accepted' },
  'captions:save': { imageId: 1, text: 'a bird' },
  'edits:undo': undefined,
  'edits:redo': undefined,
  'species:create': { collectionId: 1, name: 'Robin' },
  'species:rename': { classId: 1, name: 'Robin' },
  'species:merge': { fromId: 1, intoId: 2 },
  'import:start': { kind: 'folder', path: '/tmp/x' },
  'demo:start': undefined,
  'jobs:list': undefined,
  'jobs:cancel': { jobId: 'j1' },
  'runs:list': undefined,
  'train:start': { epochs: 1 },
  'caption:start': { folder: '/tmp/x' },
  'predict:start': { runId: 'r' },
  'images:nextDisputed': { afterId: 1 },
  'cams:get': { imageId: 1 },
  'cams:word': { imageId: 1, wordIndex: 0 },
  'masks:get': { imageId: 1 },
  'masks:save': { imageId: 1, width: 4, height: 4, png: 'iVBORw0KGgoAAAANSUhEUg==' },
  'masks:clear': { imageId: 1 },
  'train:resumable': undefined,
  'train:resume': { runId: 'r' },
  'runs:get': { id: 'r' },
  'runs:compare': { ids: ['r'] },
  'runs:confusionCell': { runId: 'r', trueClass: 1, predClass: 2 },
  'eval:start': { runId: 'r' },
  'batch:list': undefined,
  'batch:results': { jobId: 1 },
  'batch:review': { jobId: 1, relPath: 'a.jpg', review: 'accepted' },
  'batch:importAccepted': { jobId: 1 },
  'batch:export': { jobId: 1, format: 'csv', path: 'x.csv' },
  'dialog:choose': { purpose: 'folder' },
  'paths:check': { path: '/tmp/x', expect: 'folder' },
};

const UNION_FIELDS = new Set(['trueClass', 'predClass']);

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** Values no field of any schema accepts in place of a valid one of a different type. */
function wrongValue(r: Rand, valid: unknown): unknown {
  if (typeof valid === 'number') return pick(r, [-1, 0, 1.5, 2 ** 60, '1', null, true, [], {}, -1e308]);
  if (typeof valid === 'string') return pick(r, [42, null, '', 'x'.repeat(20_000), 'a\u0000b', [], { a: 1 }, false]);
  if (Array.isArray(valid)) return pick(r, [[], 'x', [null], [-1], [1.5], {}, [[]]]);
  if (valid === null) return pick(r, ['x', -1, [], {}]);
  return pick(r, [1, 'x', [], [[]]]);
}

/** One invalid invoke request for `channel` (every mutation breaks its strict schema). */
function invalidRequest(r: Rand, channel: InvokeChannel): unknown {
  const base = VALID[channel];
  const keys = base ? Object.keys(base) : [];
  const mutation = Math.floor(r() * 4);
  if (mutation === 0 || !keys.length) return { ...(base ?? {}), [`zz${Math.floor(r() * 1e6)}`]: pick(r, [1, 'x', null, {}]) };
  // Class references accept a name or an id, so no single wrong type exists for them: mutate another field.
  const key = pick(r, keys.filter((k) => !UNION_FIELDS.has(k)));
  if (mutation === 1) return { ...base, [key]: wrongValue(r, base![key]) };
  if (mutation === 2) return pick(r, ['string', 7, [base], true]);
  const rest = { ...base };
  delete rest[key];
  // A missing required field; where the field is optional, also add an unknown one.
  return { ...rest, zzMissing: true };
}

/** Frames that are not a valid invoke at all. */
function malformedFrame(r: Rand): Buffer {
  const texts = [
    '{',
    'null',
    '[]',
    '"invoke"',
    '42',
    '{"kind":"invoke","channel":"app:info"}',
    '{"kind":"invoke","id":"1","channel":"app:info"}',
    '{"kind":"invoke","id":1.5,"channel":"app:info"}',
    '{"kind":"invoke","id":9007199254740993,"channel":"app:info"}',
    `{"kind":"invoke","id":1,"channel":"${'x'.repeat(100)}"}`,
    '{"kind":"invoke","id":1,"channel":"__proto__"}',
    '{"kind":"invoke","id":1,"channel":"constructor"}',
    '{"kind":"nope","id":1}',
    '{"__proto__":{"kind":"invoke"},"id":1}',
  ];
  if (r() < 0.15) return encodeFrame({ opcode: 2, payload: Buffer.from([1, 2, 3]) });
  return encodeFrame({ opcode: 1, payload: Buffer.from(pick(r, texts)) });
}

/** Frames that break the WebSocket protocol: the server must close that connection. */
function protocolViolation(r: Rand): Buffer {
  return pick(r, [
    () => encodeFrame({ opcode: 1, payload: Buffer.from([0xc3, 0x28]) }),
    () => encodeFrame({ opcode: 1, rsv: 1 + Math.floor(r() * 7), payload: Buffer.from('{}') }),
    () => encodeFrame({ opcode: 1, masked: false, payload: Buffer.from('{}') }),
    () => encodeFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe7]) }),
    () => encodeFrame({ opcode: 3 + Math.floor(r() * 5), payload: Buffer.from('x') }),
    () => encodeFrame({ opcode: 1, declaredLength: 2 ** 40 }),
  ])();
}

let fx: Fixture;
let api: PlumageApi;
let server: RunningServer;
const totals = { cases: 0, clearErrors: 0, crashes: 0, acceptedInvalid: 0 };
const accepted: string[] = [];

beforeAll(async () => {
  fx = await makeFixture(3);
  api = createApi({ home: fx.home, log: () => {} });
  server = await startServer({ api, staticDir: resolve(fx.dir, 'no-dist'), log: () => {} });
});

afterAll(async () => {
  recordFaultTotals({ suite: 'WebSocket fuzzer', lostEdits: 0, ...totals });
  await server?.close();
  api?.close();
  fx?.cleanup();
});

/** Sends one frame and returns the first result frame after it (malformed frames may carry any id). */
async function answerTo(c: RawClient, bytes: Buffer): Promise<any> {
  const from = c.frames.length;
  c.write(bytes);
  return c.nextJson((m) => m.kind === 'result', 10_000, from);
}

type Verdict = 'clear' | 'crash' | 'accepted';

function tally(v: Verdict, what: string) {
  totals.cases++;
  if (v === 'clear') totals.clearErrors++;
  else if (v === 'crash') totals.crashes++;
  else totals.acceptedInvalid++;
  if (v !== 'clear') accepted.push(`${v}: ${what}`);
}

/** An invalid invoke must be answered with a one-line invalid_request error, never a result. */
function judgeInvoke(m: any): Verdict {
  if (m.result !== undefined || !m.error) return 'accepted';
  return m.error.code === 'invalid_request' && !String(m.error.message).includes('\n') ? 'clear' : 'crash';
}

describe('fault suite: WebSocket fuzzer', () => {
  it(`${ROUNDS} seeded invalid requests and frames on every channel: none accepted, server alive`, async () => {
    const r = mulberry32(SEED);
    let c = await rawConnect(server.port, server.token);
    let id = 1;
    let invokes = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const roll = r();
      if (roll < 0.05) {
        c.write(protocolViolation(r));
        const code = await c.closed;
        tally([1002, 1007, 1009].includes(code ?? 0) ? 'clear' : 'crash', `protocol violation closed with ${code}`);
        c = await rawConnect(server.port, server.token);
      } else if (roll < 0.2) {
        const m = await answerTo(c, malformedFrame(r));
        tally(m.error?.code === 'invalid_request' ? 'clear' : 'accepted', JSON.stringify(m));
      } else {
        // Every channel first, in order, then at random.
        const channel = invokes < INVOKE_CHANNELS.length ? INVOKE_CHANNELS[invokes] : pick(r, INVOKE_CHANNELS);
        invokes++;
        const req = invalidRequest(r, channel);
        const m = await answerTo(c, jsonFrame({ kind: 'invoke', id, channel, req }));
        expect(m.id).toBe(id++);
        tally(judgeInvoke(m), `${channel} ${JSON.stringify(req)?.slice(0, 200)} → ${JSON.stringify(m).slice(0, 200)}`);
      }
    }
    c.write(jsonFrame({ kind: 'invoke', id: 1e9, channel: 'collections:list' }));
    expect((await c.nextJson((m) => m.id === 1e9)).result).toHaveLength(1);
    c.end();
    expect(accepted).toEqual([]);
    expect(totals.cases).toBeGreaterThanOrEqual(500);
    // Nothing the fuzzer sent changed the workspace.
    expect(api.db.prepare("SELECT count(*) AS n FROM captions WHERE provenance = 'human'").get()).toEqual({ n: 0 });
    expect(api.db.pragma('integrity_check', { simple: true })).toBe('ok');
  });
});
