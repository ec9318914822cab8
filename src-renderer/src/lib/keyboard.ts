/**
 * The keyboard map: one table drives both dispatch and the `?` shortcut sheet, so the sheet can
 * never list a shortcut that does not exist (or miss one that does).
 */
export type Scope = 'global' | 'gallery' | 'photo' | 'batch';
/** The screens that dispatch keys (the runs dashboard only has the global ones). */
export type ViewScope = 'gallery' | 'photo' | 'runs' | 'batch';

export type Action =
  | 'help'
  | 'back'
  | 'undo'
  | 'redo'
  | 'import'
  | 'search'
  | 'next'
  | 'prev'
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'first'
  | 'last'
  | 'open'
  | 'selectAll'
  | 'zoomIn'
  | 'zoomOut'
  | 'zoomReset'
  | 'species'
  | 'caption'
  | 'suggest1'
  | 'suggest2'
  | 'suggest3'
  | 'suggest4'
  | 'suggest5'
  | 'reviewAccepted'
  | 'reviewFixed'
  | 'reviewRejected'
  | 'reviewUnreviewed'
  | 'nextDisputed'
  | 'heatmap'
  | 'toggleCam'
  | 'brush'
  | 'eraser'
  | 'brushSmaller'
  | 'brushBigger'
  | 'batchNext'
  | 'batchPrev'
  | 'batchAccept'
  | 'batchReject'
  | 'batchEdit';

export interface Shortcut {
  /** Key as in KeyboardEvent.key; 'Mod' = Ctrl on Linux/Windows, Cmd on macOS. */
  keys: string;
  action: Action;
  scope: Scope;
  description: string;
}

export const SHORTCUTS: Shortcut[] = [
  { keys: '?', action: 'help', scope: 'global', description: 'Show this shortcut sheet' },
  { keys: 'Escape', action: 'back', scope: 'global', description: 'Close dialog / back to gallery / clear selection' },
  { keys: 'Mod+z', action: 'undo', scope: 'global', description: 'Undo the last label, caption, review or bulk edit' },
  { keys: 'Mod+Shift+z', action: 'redo', scope: 'global', description: 'Redo' },
  { keys: 'Mod+y', action: 'redo', scope: 'global', description: 'Redo (alternative)' },
  { keys: 'i', action: 'import', scope: 'global', description: 'Open the import dialog' },
  { keys: '/', action: 'search', scope: 'gallery', description: 'Focus the caption search' },
  { keys: 'ArrowRight', action: 'next', scope: 'gallery', description: 'Next photo' },
  { keys: 'ArrowLeft', action: 'prev', scope: 'gallery', description: 'Previous photo' },
  { keys: 'ArrowDown', action: 'down', scope: 'gallery', description: 'Photo below' },
  { keys: 'ArrowUp', action: 'up', scope: 'gallery', description: 'Photo above' },
  { keys: 'PageDown', action: 'pageDown', scope: 'gallery', description: 'One screen down' },
  { keys: 'PageUp', action: 'pageUp', scope: 'gallery', description: 'One screen up' },
  { keys: 'Home', action: 'first', scope: 'gallery', description: 'First photo' },
  { keys: 'End', action: 'last', scope: 'gallery', description: 'Last photo' },
  { keys: 'Enter', action: 'open', scope: 'gallery', description: 'Open the photo (also double-click)' },
  { keys: 'Mod+a', action: 'selectAll', scope: 'gallery', description: 'Select every photo matching the filters' },
  { keys: 'ArrowRight', action: 'next', scope: 'photo', description: 'Next photo' },
  { keys: 'ArrowLeft', action: 'prev', scope: 'photo', description: 'Previous photo' },
  { keys: '+', action: 'zoomIn', scope: 'photo', description: 'Zoom in (also mouse wheel)' },
  { keys: '=', action: 'zoomIn', scope: 'photo', description: 'Zoom in' },
  { keys: '-', action: 'zoomOut', scope: 'photo', description: 'Zoom out' },
  { keys: '0', action: 'zoomReset', scope: 'photo', description: 'Fit the photo' },
  { keys: 's', action: 'species', scope: 'photo', description: 'Focus the species picker' },
  { keys: 'c', action: 'caption', scope: 'photo', description: 'Edit the caption (Ctrl/Cmd-Enter or leaving the box saves)' },
  { keys: '1', action: 'suggest1', scope: 'photo', description: 'Apply model suggestion 1' },
  { keys: '2', action: 'suggest2', scope: 'photo', description: 'Apply model suggestion 2' },
  { keys: '3', action: 'suggest3', scope: 'photo', description: 'Apply model suggestion 3' },
  { keys: '4', action: 'suggest4', scope: 'photo', description: 'Apply model suggestion 4' },
  { keys: '5', action: 'suggest5', scope: 'photo', description: 'Apply model suggestion 5' },
  { keys: 'a', action: 'reviewAccepted', scope: 'photo', description: 'Review status: accepted' },
  { keys: 'f', action: 'reviewFixed', scope: 'photo', description: 'Review status: fixed' },
  { keys: 'r', action: 'reviewRejected', scope: 'photo', description: 'Review status: rejected' },
  { keys: 'u', action: 'reviewUnreviewed', scope: 'photo', description: 'Review status: unreviewed' },
  { keys: 'n', action: 'nextDisputed', scope: 'gallery', description: 'Open the most disputed photo (review queue)' },
  { keys: 'n', action: 'nextDisputed', scope: 'photo', description: 'Next most disputed photo' },
  { keys: 'h', action: 'heatmap', scope: 'photo', description: 'Heat-map view on / off' },
  { keys: 't', action: 'toggleCam', scope: 'photo', description: 'Heat map: switch classifier / captioner CAM' },
  { keys: 'b', action: 'brush', scope: 'photo', description: 'Heat map: brush (paint where it should look)' },
  { keys: 'e', action: 'eraser', scope: 'photo', description: 'Heat map: eraser' },
  { keys: '[', action: 'brushSmaller', scope: 'photo', description: 'Smaller brush' },
  { keys: ']', action: 'brushBigger', scope: 'photo', description: 'Bigger brush' },
  { keys: 'j', action: 'batchNext', scope: 'batch', description: 'Next result' },
  { keys: 'k', action: 'batchPrev', scope: 'batch', description: 'Previous result' },
  { keys: 'a', action: 'batchAccept', scope: 'batch', description: 'Accept the caption' },
  { keys: 'r', action: 'batchReject', scope: 'batch', description: 'Reject the result' },
  { keys: 'e', action: 'batchEdit', scope: 'batch', description: 'Edit the caption' },
];

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  shiftKey?: boolean;
  altKey?: boolean;
}

/** Normalises an event to the table's notation ("Mod+Shift+z"). */
export function chord(e: KeyLike, mac = false): string {
  const mod = mac ? e.metaKey : e.ctrlKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const parts: string[] = [];
  if (mod) parts.push('Mod');
  // Shift is part of printable keys already ('?', '+'); only name it for letters and named keys.
  if (e.shiftKey && (e.key.length > 1 || /[a-z]/i.test(e.key))) parts.push('Shift');
  parts.push(key);
  return parts.join('+');
}

/** True when a keystroke is meant for a text field rather than for the app. */
export function isTyping(target: { tagName?: string; isContentEditable?: boolean; type?: string } | null): boolean {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || target.isContentEditable) return true;
  if (tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const t = (target.type ?? 'text').toLowerCase();
    return !['button', 'checkbox', 'radio', 'submit', 'range', 'reset'].includes(t);
  }
  return false;
}

/**
 * The action for a key event in a scope, or null. While typing in a field only Escape and the
 * Mod chords that do not clash with text editing reach the app (Mod+z stays the field's own undo).
 */
export function resolve(e: KeyLike, scope: ViewScope, typing: boolean, mac = false): Action | null {
  if (e.altKey) return null;
  const c = chord(e, mac);
  const hit =
    SHORTCUTS.find((s) => s.scope === scope && s.keys === c) ?? SHORTCUTS.find((s) => s.scope === 'global' && s.keys === c);
  if (!hit) return null;
  if (typing && hit.action !== 'back') return null;
  return hit.action;
}

/** Human-readable key label for the sheet. */
export function keyLabel(keys: string, mac = false): string {
  const names: Record<string, string> = {
    Mod: mac ? '⌘' : 'Ctrl',
    Shift: 'Shift',
    ArrowRight: '→',
    ArrowLeft: '←',
    ArrowUp: '↑',
    ArrowDown: '↓',
    Escape: 'Esc',
    Enter: 'Enter',
    PageDown: 'Page Down',
    PageUp: 'Page Up',
  };
  if (keys === '+') return '+';
  return keys
    .split('+')
    .map((k) => (k === '' ? '+' : (names[k] ?? (k.length === 1 ? k.toUpperCase() : k))))
    .join(mac ? '' : '+');
}

/** The sheet: shortcuts grouped by scope, with duplicate action rows merged (e.g. '+' and '='). */
export function sheet(mac = false): { scope: Scope; title: string; rows: { keys: string[]; description: string }[] }[] {
  const titles: Record<Scope, string> = { global: 'Everywhere', gallery: 'Gallery', photo: 'Photo view', batch: 'Batch captions' };
  return (['global', 'gallery', 'photo', 'batch'] as Scope[]).map((scope) => {
    const rows: { keys: string[]; description: string }[] = [];
    for (const s of SHORTCUTS.filter((x) => x.scope === scope)) rows.push({ keys: [keyLabel(s.keys, mac)], description: s.description });
    return { scope, title: titles[scope], rows };
  });
}
