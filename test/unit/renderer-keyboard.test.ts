import { describe, expect, it } from 'vitest';
import { SHORTCUTS, chord, isTyping, keyLabel, resolve, sheet } from '../../src-renderer/src/lib/keyboard.ts';

describe('keyboard map', () => {
  it('normalises chords (Ctrl on Linux, Cmd on macOS; Shift only for letters/named keys)', () => {
    expect(chord({ key: 'z', ctrlKey: true })).toBe('Mod+z');
    expect(chord({ key: 'Z', ctrlKey: true, shiftKey: true })).toBe('Mod+Shift+z');
    expect(chord({ key: 'z', metaKey: true }, true)).toBe('Mod+z');
    expect(chord({ key: 'z', ctrlKey: true }, true)).toBe('z');
    expect(chord({ key: '?', shiftKey: true })).toBe('?');
    expect(chord({ key: '+', shiftKey: true })).toBe('+');
  });

  it('resolves actions per screen, with global fall-back', () => {
    expect(resolve({ key: 'ArrowRight' }, 'gallery', false)).toBe('next');
    expect(resolve({ key: 'ArrowRight' }, 'photo', false)).toBe('next');
    expect(resolve({ key: 'Enter' }, 'gallery', false)).toBe('open');
    expect(resolve({ key: 'Enter' }, 'photo', false)).toBeNull();
    expect(resolve({ key: '3' }, 'photo', false)).toBe('suggest3');
    expect(resolve({ key: '3' }, 'gallery', false)).toBeNull();
    expect(resolve({ key: 'a', ctrlKey: true }, 'gallery', false)).toBe('selectAll');
    expect(resolve({ key: 'Z', ctrlKey: true, shiftKey: true }, 'photo', false)).toBe('redo');
    expect(resolve({ key: 'z', ctrlKey: true }, 'gallery', false)).toBe('undo');
    expect(resolve({ key: '?', shiftKey: true }, 'photo', false)).toBe('help');
    expect(resolve({ key: 'Escape' }, 'photo', false)).toBe('back');
    expect(resolve({ key: 'x', altKey: true }, 'photo', false)).toBeNull();
  });

  it('leaves keys to text fields, except Escape', () => {
    expect(resolve({ key: 'ArrowRight' }, 'photo', true)).toBeNull();
    expect(resolve({ key: 'z', ctrlKey: true }, 'photo', true)).toBeNull(); // the field's own undo
    expect(resolve({ key: 'Escape' }, 'photo', true)).toBe('back');
    expect(isTyping({ tagName: 'TEXTAREA' })).toBe(true);
    expect(isTyping({ tagName: 'INPUT', type: 'search' })).toBe(true);
    expect(isTyping({ tagName: 'INPUT', type: 'radio' })).toBe(false);
    expect(isTyping({ tagName: 'DIV' })).toBe(false);
    expect(isTyping({ tagName: 'DIV', isContentEditable: true })).toBe(true);
    expect(isTyping(null)).toBe(false);
  });

  it('has no conflicting bindings and the sheet lists every shortcut', () => {
    const seen = new Map<string, string>();
    for (const s of SHORTCUTS) {
      const k = `${s.scope}:${s.keys}`;
      expect(seen.has(k), `duplicate ${k}`).toBe(false);
      seen.set(k, s.action);
    }
    const rows = sheet().flatMap((g) => g.rows);
    expect(rows.length).toBe(SHORTCUTS.length);
    expect(keyLabel('Mod+Shift+z')).toBe('Ctrl+Shift+Z');
    expect(keyLabel('Mod+z', true)).toBe('⌘Z');
    expect(keyLabel('+')).toBe('+');
    expect(keyLabel('ArrowLeft')).toBe('←');
    for (const must of ['help', 'undo', 'redo', 'next', 'prev', 'back', 'selectAll', 'suggest1', 'suggest5', 'zoomIn', 'open']) {
      expect(SHORTCUTS.some((s) => s.action === must), must).toBe(true);
    }
  });
});
