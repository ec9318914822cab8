/**
 * Gallery multi-select as a pure state machine over item indices → ids.
 *  click           : select only that item (it becomes the anchor)
 *  Shift-click     : select the range anchor..item (replacing the selection)
 *  Ctrl/Cmd-click  : toggle that item (it becomes the anchor)
 *  Ctrl/Cmd-A      : everything matching the current filters
 * Ids are kept (not indices) so a selection survives reloading pages; `idAt` maps an index to its
 * id and may need pages to be loaded first (the caller awaits that).
 */
export interface Selection {
  ids: Set<number>;
  anchor: number | null;
}

export const emptySelection = (): Selection => ({ ids: new Set(), anchor: null });

export interface ClickMods {
  shift?: boolean;
  toggle?: boolean;
}

export function clickSelect(
  sel: Selection,
  index: number,
  mods: ClickMods,
  idAt: (i: number) => number | undefined,
): Selection {
  const id = idAt(index);
  if (id === undefined) return sel;
  if (mods.shift && sel.anchor !== null) {
    const [a, b] = sel.anchor <= index ? [sel.anchor, index] : [index, sel.anchor];
    const ids = mods.toggle ? new Set(sel.ids) : new Set<number>();
    for (let i = a; i <= b; i++) {
      const x = idAt(i);
      if (x !== undefined) ids.add(x);
    }
    return { ids, anchor: sel.anchor };
  }
  if (mods.toggle) {
    const ids = new Set(sel.ids);
    if (ids.has(id)) ids.delete(id);
    else ids.add(id);
    return { ids, anchor: index };
  }
  return { ids: new Set([id]), anchor: index };
}

/** Indices a Shift-click would need loaded. */
export function rangeIndices(anchor: number | null, index: number): [number, number] {
  if (anchor === null) return [index, index];
  return anchor <= index ? [anchor, index] : [index, anchor];
}

export function selectAll(ids: Iterable<number>): Selection {
  return { ids: new Set(ids), anchor: null };
}
