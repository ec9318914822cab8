import { describe, expect, it } from 'vitest';
import { gridMetrics, itemRange, moveIndex, pagesFor, scrollToReveal, visibleRows } from '../../src-renderer/src/lib/grid.ts';
import { clickSelect, emptySelection, rangeIndices, selectAll } from '../../src-renderer/src/lib/selection.ts';
import { rankMatches } from '../../src-renderer/src/lib/typeahead.ts';

describe('virtual grid maths', () => {
  it('fits as many fixed tiles as the width allows, at least one', () => {
    // (1000 + 8) / (168 + 8) = 5.7 → 5 columns
    expect(gridMetrics(12_000, 1000, 168, 8).columns).toBe(5);
    expect(gridMetrics(10, 50, 168, 8).columns).toBe(1);
    const m = gridMetrics(12_000, 1000, 168, 8);
    expect(m.rows).toBe(2400);
    expect(m.height).toBe(2400 * 176);
    expect(gridMetrics(11, 1000, 168, 8).rows).toBe(3); // partial last row counts
  });

  it('renders only the rows in view plus overscan, whatever the collection size', () => {
    const m = gridMetrics(12_000, 1000, 168, 8);
    const w = visibleRows(m, 176 * 1000 + 10, 700, 2);
    // rows 1000..1004 intersect (1000*176+10 .. +700) → 1000 to 1004, ±2 overscan
    expect(w).toEqual({ first: 998, end: 1007 });
    expect(itemRange(m, w, 12_000)).toEqual({ start: 4990, end: 5035 });
    expect(visibleRows(m, 0, 700, 2)).toEqual({ first: 0, end: 6 });
    // clamped at the end
    expect(visibleRows(m, m.height, 700, 2).end).toBe(2400);
    expect(visibleRows(gridMetrics(0, 1000, 168, 8), 0, 700)).toEqual({ first: 0, end: 0 });
  });

  it('lists the pages a window needs', () => {
    expect(pagesFor(4990, 5035, 240)).toEqual([20]);
    expect(pagesFor(230, 250, 240)).toEqual([0, 1]);
    expect(pagesFor(5, 5, 240)).toEqual([]);
  });

  it('scrolls just enough to reveal an item', () => {
    const m = gridMetrics(100, 1000, 168, 8); // 5 columns, rows of 176
    expect(scrollToReveal(m, 0, 0, 500)).toBe(0);
    expect(scrollToReveal(m, 20, 0, 500)).toBe(4 * 176 + 176 - 500); // row 4 bottom aligned
    expect(scrollToReveal(m, 0, 900, 500)).toBe(0); // above → top aligned
    expect(scrollToReveal(m, 6, 100, 500)).toBe(100); // already visible
  });

  it('moves with arrows by item and by row, clamped', () => {
    expect(moveIndex(0, 'ArrowRight', 5, 12, 3)).toBe(1);
    expect(moveIndex(0, 'ArrowLeft', 5, 12, 3)).toBe(0);
    expect(moveIndex(3, 'ArrowDown', 5, 12, 3)).toBe(8);
    expect(moveIndex(8, 'ArrowDown', 5, 12, 3)).toBe(11);
    expect(moveIndex(8, 'ArrowUp', 5, 12, 3)).toBe(3);
    expect(moveIndex(2, 'End', 5, 12, 3)).toBe(11);
    expect(moveIndex(9, 'Home', 5, 12, 3)).toBe(0);
    expect(moveIndex(0, 'PageDown', 5, 100, 3)).toBe(15);
    expect(moveIndex(0, 'ArrowRight', 5, 0, 3)).toBe(-1);
  });
});

describe('multi-select', () => {
  const ids = [10, 11, 12, 13, 14, 15];
  const idAt = (i: number) => ids[i];

  it('click selects one, Ctrl-click toggles, Shift-click selects the range from the anchor', () => {
    let s = clickSelect(emptySelection(), 1, {}, idAt);
    expect([...s.ids]).toEqual([11]);
    s = clickSelect(s, 4, { shift: true }, idAt);
    expect([...s.ids].sort()).toEqual([11, 12, 13, 14]);
    s = clickSelect(s, 2, { toggle: true }, idAt);
    expect([...s.ids].sort()).toEqual([11, 13, 14]);
    expect(s.anchor).toBe(2);
    // Shift-click backwards from the new anchor replaces the selection
    s = clickSelect(s, 0, { shift: true }, idAt);
    expect([...s.ids].sort()).toEqual([10, 11, 12]);
    // Ctrl+Shift extends instead of replacing
    s = clickSelect(s, 5, { shift: true, toggle: true }, idAt);
    expect([...s.ids].sort()).toEqual([10, 11, 12, 13, 14, 15]);
  });

  it('Shift-click without an anchor acts as a click; unknown index is a no-op', () => {
    const s = clickSelect(emptySelection(), 3, { shift: true }, idAt);
    expect([...s.ids]).toEqual([13]);
    expect(clickSelect(s, 99, {}, idAt)).toBe(s);
    expect(rangeIndices(5, 2)).toEqual([2, 5]);
    expect(rangeIndices(null, 2)).toEqual([2, 2]);
    expect(selectAll(ids).ids.size).toBe(6);
  });
});

describe('species type-ahead', () => {
  const classes = ['001.Black_footed_Albatross', '002.Laysan_Albatross', '017.Cardinal', '029.American_Crow', '030.Fish_Crow'].map(
    (name, id) => ({ id, name }),
  );
  it('ranks prefix, then word prefix, then substring; ignores the CUB number and underscores', () => {
    expect(rankMatches(classes, 'crow').map((c) => c.name)).toEqual(['029.American_Crow', '030.Fish_Crow']);
    expect(rankMatches(classes, 'lay').map((c) => c.name)).toEqual(['002.Laysan_Albatross']);
    expect(rankMatches(classes, 'black footed').map((c) => c.name)).toEqual(['001.Black_footed_Albatross']);
    expect(rankMatches(classes, 'tross').map((c) => c.name)).toEqual(['001.Black_footed_Albatross', '002.Laysan_Albatross']);
    expect(rankMatches(classes, 'car')[0].name).toBe('017.Cardinal');
    expect(rankMatches(classes, '').length).toBe(5);
    expect(rankMatches(classes, 'zebra')).toEqual([]);
  });
});
