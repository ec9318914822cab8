/** Painted masks on a real SQLite file: validation, grey storage, undo/redo, grids at CAM resolution. */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redo, undo } from '../../src-main/data/edits.ts';
import {
  areaAverage,
  clearMask,
  decodeGreyPng,
  getMask,
  maskGrid,
  partMaskGrid,
  saveMask,
} from '../../src-main/data/masks.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { makeFixture, type Fixture } from '../unit/api-fixture.ts';

let fx: Fixture;
let db: Db;

/** An RGBA 8×8 brush layer: left `cols` columns painted red (alpha 255), the rest transparent. */
async function brush(cols: number, w = 8, h = 8): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < cols; x++) px.set([255, 0, 0, 255], (y * w + x) * 4);
  return sharp(px, { raw: { width: w, height: h, channels: 4 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  fx = await makeFixture(4);
  db = openDb(workspace(fx.home).dbPath);
});
afterAll(() => {
  db?.close();
  fx?.cleanup();
});

describe('masks', () => {
  it('stores an RGBA brush layer as an 8-bit grey PNG of its alpha', async () => {
    const id = fx.imageIds[0];
    expect(getMask(db, id)).toBeNull();
    await saveMask(db, id, 8, 8, await brush(4));
    const m = getMask(db, id)!;
    expect([m.width, m.height]).toEqual([8, 8]);
    const png = Buffer.from(m.png, 'base64');
    const meta = await sharp(png).metadata();
    expect(meta.channels).toBe(1);
    const dec = decodeGreyPng(png);
    // The sync decoder agrees with sharp's.
    const viaSharp = await sharp(png).extractChannel(0).raw().toBuffer();
    expect(Buffer.from(dec.data)).toEqual(viaSharp);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(dec.data[y * 8 + x]).toBe(x < 4 ? 255 : 0);
  });

  it('maskGrid is the area average at the CAM grid', () => {
    const id = fx.imageIds[0];
    expect(Array.from(maskGrid(db, id, 2, 2)!)).toEqual([1, 0, 1, 0]);
    // 8 px over 3 cells of 8/3 px: cell 1 spans 2.67..5.33, half of it (2.67..4) painted.
    const g = maskGrid(db, id, 3, 3)!;
    for (let i = 0; i < 3; i++) {
      expect(g[i * 3]).toBeCloseTo(1, 6);
      expect(g[i * 3 + 1]).toBeCloseTo(0.5, 6);
      expect(g[i * 3 + 2]).toBeCloseTo(0, 6);
    }
    expect(maskGrid(db, fx.imageIds[1], 2, 2)).toBeNull();
    // upsampling: each cell reads the one pixel under it
    expect(Array.from(areaAverage(new Uint8Array([0, 255]), 2, 1, 1, 4))).toEqual([0, 0, 1, 1]);
  });

  it('save, replace and clear are undoable and redoable', async () => {
    const id = fx.imageIds[1];
    await saveMask(db, id, 8, 8, await brush(2));
    const first = getMask(db, id)!.png;
    await saveMask(db, id, 8, 8, await brush(6));
    expect(getMask(db, id)!.png).not.toBe(first);
    expect(undo(db)).toEqual({ undone: true, imageIds: [id] });
    expect(getMask(db, id)!.png).toBe(first);
    undo(db);
    expect(getMask(db, id)).toBeNull();
    redo(db);
    expect(getMask(db, id)!.png).toBe(first);
    expect(clearMask(db, id)).toBe(true);
    expect(getMask(db, id)).toBeNull();
    expect(clearMask(db, id)).toBe(false);
    undo(db);
    expect(getMask(db, id)!.png).toBe(first);
  });

  it('refuses non-PNGs, size mismatches, oversize masks and unknown images', async () => {
    const id = fx.imageIds[2];
    await expect(saveMask(db, id, 8, 8, Buffer.from('GIF89a......'))).rejects.toThrow(/signature/);
    await expect(saveMask(db, id, 9, 8, await brush(2))).rejects.toThrow(/8×8/);
    await expect(saveMask(db, id, 5000, 8, await brush(2))).rejects.toThrow(/larger/);
    await expect(
      saveMask(db, id, 8, 8, Buffer.concat([await brush(2), Buffer.alloc(2 * 1024 * 1024)])),
    ).rejects.toThrow(/bytes/);
    const broken = Buffer.concat([(await brush(2)).subarray(0, 8), Buffer.from('garbage-garbage-garbage')]);
    await expect(saveMask(db, id, 8, 8, broken)).rejects.toThrow(/decoded/);
    await expect(saveMask(db, 99999, 8, 8, await brush(2))).rejects.toThrow(/no image/);
    expect(getMask(db, id)).toBeNull();
  });

  it('partMaskGrid puts a Gaussian on each visible part', () => {
    const id = fx.imageIds[3];
    expect(partMaskGrid(db, id, 4, 4)).toBeNull();
    const part = Number(
      db
        .prepare("INSERT INTO parts(collection_id, source_id, name) VALUES (?, 1, 'crown')")
        .run(fx.collectionId).lastInsertRowid,
    );
    // 8×8 image: a part at (7, 1) is in the top-right cell of a 4×4 grid.
    db.prepare('INSERT INTO part_locations(image_id, part_id, x, y, visible) VALUES (?, ?, 7, 1, 1)').run(
      id,
      part,
    );
    const g = partMaskGrid(db, id, 4, 4)!;
    expect(g.indexOf(Math.max(...g))).toBe(3);
    // cell centre (7,1) → exactly on the part
    expect(g[3]).toBeCloseTo(1, 6);
    const s = 0.08 * 8;
    expect(g[0]).toBeCloseTo(Math.exp(-(6 ** 2) / (2 * s * s)), 6);
  });
});
