import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi, type PlumageApi } from '../../src-main/api/service.ts';
import type { ClassInfo, Collection } from '../../shared/types.ts';
import { invokeOk } from '../helpers/invoke.ts';

let api: PlumageApi | undefined;
let home: string | undefined;

afterEach(() => {
  api?.close();
  if (home) rmSync(home, { recursive: true, force: true });
  api = home = undefined;
});

describe('demo:start', () => {
  it('imports synthetic birds into a fresh collection each time', async () => {
    home = mkdtempSync(join(tmpdir(), 'plumage-demo-'));
    api = createApi({ home, log: () => {} });
    for (const expected of ['Demo birds', 'Demo birds 2']) {
      const { jobId } = await invokeOk<{ jobId: string }>(api, 'demo:start');
      const end = await api.jobs.wait(jobId);
      expect(end.status, end.message ?? '').toBe('done');
      const cols = await invokeOk<Collection[]>(api, 'collections:list');
      const col = cols.find((c) => c.name === expected);
      expect(col?.images).toBe(72);
      const classes = await invokeOk<ClassInfo[]>(api, 'classes:list', { collectionId: col!.id });
      expect(classes.map((c) => c.count)).toEqual([12, 12, 12, 12, 12, 12]);
    }
    const env = await api.invoke('demo:start', { species: 1000 });
    expect(env.error?.code).toBe('invalid_request');
  }, 120_000);
});
