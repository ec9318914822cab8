import { describe, expect, it } from 'vitest';
import { colour, fitRect, heatPixels, isFlat, legendGradient, normalise, upsampleBilinear } from '../../src-renderer/src/lib/heatmap.ts';
import { plot, relative } from '../../src-renderer/src/lib/curves.ts';

describe('heat-map pixels', () => {
  it('upsamples bilinearly: corners keep their values, the middle is the average, constant stays constant', () => {
    // 2×2 map to 4×4: pixel centres at 0.5/4*2-0.5 = -0.25 → clamped to 0, so corners are exact.
    const up = upsampleBilinear([0, 1, 2, 3], 2, 2, 4, 4);
    expect(up[0]).toBeCloseTo(0);
    expect(up[3]).toBeCloseTo(1);
    expect(up[12]).toBeCloseTo(2);
    expect(up[15]).toBeCloseTo(3);
    // Pixel (1,1) samples source (0.25, 0.25): 0·.5625 + 1·.1875 + 2·.1875 + 3·.0625 = 0.75
    expect(up[5]).toBeCloseTo(0.75);
    const flat = upsampleBilinear(new Array(49).fill(0.4), 7, 7, 33, 21);
    expect(Math.max(...flat)).toBeCloseTo(0.4);
    expect(Math.min(...flat)).toBeCloseTo(0.4);
  });

  it('is monotone between neighbouring cells (smooth, no blocks)', () => {
    const up = upsampleBilinear([0, 1], 1, 2, 10, 1);
    for (let i = 1; i < 10; i++) expect(up[i]).toBeGreaterThanOrEqual(up[i - 1]);
    expect(new Set(Array.from(up, (v) => v.toFixed(3))).size).toBeGreaterThan(4);
  });

  it('colours: turbo goes blue → dark red, jet blue → red, grey is grey', () => {
    const [r0, , b0] = colour('turbo', 0.1);
    const [r1, , b1] = colour('turbo', 1);
    expect(b0).toBeGreaterThan(r0);
    expect(r1).toBeGreaterThan(b1);
    expect(colour('jet', 0)[2]).toBeGreaterThan(colour('jet', 0)[0]);
    expect(colour('jet', 1)[0]).toBeGreaterThan(colour('jet', 1)[2]);
    expect(colour('grey', 0.5)).toEqual([127.5, 127.5, 127.5]);
    for (const t of [-1, 0.3, 2]) for (const c of colour('inferno', t)) expect(c).toBeGreaterThanOrEqual(0);
  });

  it('threshold makes low values transparent and alpha grows with the value', () => {
    const px = heatPixels([0, 0.5, 1, 0.1], 1, 4, 4, 1, { colourMap: 'turbo', threshold: 0.2 });
    const alpha = [3, 7, 11, 15].map((i) => px[i]);
    expect(alpha[0]).toBe(0);
    expect(alpha[3]).toBe(0);
    expect(alpha[1]).toBeGreaterThan(0);
    expect(alpha[2]).toBeGreaterThan(alpha[1]);
    const none = heatPixels([0.5, 0.6], 1, 2, 8, 8, { colourMap: 'jet', threshold: 0.9 });
    expect(none.some((v) => v !== 0)).toBe(false);
  });

  it('normalises to [0,1] and a flat map to zeros', () => {
    expect(normalise([2, 4, 6])).toEqual([0, 0.5, 1]);
    expect(normalise([3, 3])).toEqual([0, 0]);
  });

  it('fits a photo into a box, centred', () => {
    expect(fitRect(200, 100, 400, 400)).toEqual({ x: 0, y: 100, width: 400, height: 200 });
    expect(fitRect(100, 200, 400, 200)).toEqual({ x: 150, y: 0, width: 100, height: 200 });
    expect(fitRect(0, 0, 10, 10).width).toBe(0);
  });
});

describe('training curves', () => {
  it('scales every series into the box with one shared y range that includes 0', () => {
    const p = plot(
      [
        { name: 'a', points: [{ x: 1, y: 2 }, { x: 3, y: 4 }] },
        { name: 'b', points: [{ x: 2, y: 1 }] },
      ],
      100,
      50,
      0,
    );
    expect(p).toMatchObject({ xMin: 1, xMax: 3, yMin: 0, yMax: 4 });
    // (1,2) → x 0, y 50 - 2/4·50 = 25; (3,4) → x 100, y 0; (2,1) → x 50, y 37.5
    expect(p.paths[0].d).toBe('M0.0,25.0 L100.0,0.0');
    expect(p.paths[1].d).toBe('M50.0,37.5');
  });

  it('survives empty series and non-finite points', () => {
    expect(plot([{ name: 'a', points: [] }], 10, 10).paths[0].d).toBe('');
    expect(plot([{ name: 'a', points: [{ x: 1, y: NaN }, { x: 2, y: 1 }] }], 10, 10, 0).paths[0].d.split(' ')).toHaveLength(1);
  });

  it('formats relative improvements', () => {
    expect(relative(0.125)).toBe('+12.5 %');
    expect(relative(-0.05)).toBe('-5.0 %');
    expect(relative(null)).toBe('');
  });
});

describe('heat-map legend and empty maps', () => {
  it('calls a map flat when it is empty or constant', () => {
    expect(isFlat([])).toBe(true);
    expect(isFlat([0, 0, 0, 0])).toBe(true);
    expect(isFlat([0.3, 0.3])).toBe(true);
    expect(isFlat([0, 0, 0.2, 0])).toBe(false);
  });
  it('draws the legend from the same colours as the overlay, low to high', () => {
    const g = legendGradient('grey', 2);
    expect(g).toBe('linear-gradient(to right, rgb(0, 0, 0) 0.0%, rgb(128, 128, 128) 50.0%, rgb(255, 255, 255) 100.0%)');
    const [r, gg, b] = colour('turbo', 1);
    expect(legendGradient('turbo', 4).endsWith(`rgb(${Math.round(r)}, ${Math.round(gg)}, ${Math.round(b)}) 100.0%)`)).toBe(true);
  });
});
