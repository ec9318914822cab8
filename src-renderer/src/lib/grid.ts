/**
 * Virtual grid maths: which rows of fixed-size tiles are visible for a scroll position.
 * Only those rows (plus a small overscan) are in the DOM, so 12,000 photos cost the same as 50.
 */
export interface GridMetrics {
  /** Tiles per row (≥ 1). */
  columns: number;
  /** Tile edge plus gap, in CSS pixels. */
  rowHeight: number;
  /** Width of one column (tile + gap). */
  columnWidth: number;
  rows: number;
  /** Full scrollable height. */
  height: number;
}

export function gridMetrics(total: number, viewportWidth: number, tile: number, gap: number): GridMetrics {
  const columnWidth = tile + gap;
  const columns = Math.max(1, Math.floor((Math.max(0, viewportWidth) + gap) / columnWidth));
  const rows = Math.ceil(Math.max(0, total) / columns);
  const rowHeight = tile + gap;
  return { columns, rowHeight, columnWidth, rows, height: rows * rowHeight };
}

export interface RowWindow {
  /** First rendered row (inclusive). */
  first: number;
  /** Last rendered row (exclusive). */
  end: number;
}

/** Rows intersecting [scrollTop, scrollTop + viewportHeight), widened by `overscan` rows each side. */
export function visibleRows(m: GridMetrics, scrollTop: number, viewportHeight: number, overscan = 2): RowWindow {
  if (m.rows === 0) return { first: 0, end: 0 };
  const top = Math.max(0, scrollTop);
  const first = Math.max(0, Math.floor(top / m.rowHeight) - overscan);
  const end = Math.min(m.rows, Math.ceil((top + Math.max(0, viewportHeight)) / m.rowHeight) + overscan);
  return { first: Math.min(first, end), end };
}

/** Item indices [start, end) covered by a row window. */
export function itemRange(m: GridMetrics, w: RowWindow, total: number): { start: number; end: number } {
  return { start: Math.min(total, w.first * m.columns), end: Math.min(total, w.end * m.columns) };
}

/** Pages (of `pageSize` items) needed to show items [start, end). */
export function pagesFor(start: number, end: number, pageSize: number): number[] {
  if (end <= start) return [];
  const out: number[] = [];
  for (let p = Math.floor(start / pageSize); p <= Math.floor((end - 1) / pageSize); p++) out.push(p);
  return out;
}

/** The scrollTop that brings item `index` fully into view (unchanged if it already is). */
export function scrollToReveal(m: GridMetrics, index: number, scrollTop: number, viewportHeight: number): number {
  const row = Math.floor(index / m.columns);
  const top = row * m.rowHeight;
  const bottom = top + m.rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}

/** Keyboard movement in the grid: arrows step by one item or one row, clamped to the collection. */
export function moveIndex(index: number, key: string, columns: number, total: number, pageRows = 1): number {
  if (total <= 0) return -1;
  const i = index < 0 ? 0 : index;
  let next: number;
  switch (key) {
    case 'ArrowLeft':
      next = i - 1;
      break;
    case 'ArrowRight':
      next = i + 1;
      break;
    case 'ArrowUp':
      next = i - columns;
      break;
    case 'ArrowDown':
      next = i + columns;
      break;
    case 'PageUp':
      next = i - columns * pageRows;
      break;
    case 'PageDown':
      next = i + columns * pageRows;
      break;
    case 'Home':
      next = 0;
      break;
    case 'End':
      next = total - 1;
      break;
    default:
      return i;
  }
  return Math.max(0, Math.min(total - 1, next));
}
