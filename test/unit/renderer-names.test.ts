import { describe, expect, it } from 'vitest';
import { metricName, runTitle, speciesName, useDisplayNames, variantName } from '../../src-renderer/src/lib/names.ts';

describe('plain-language names', () => {
  it('turns CUB ids into bird names', () => {
    expect(speciesName('001.Black_footed_Albatross')).toBe('Black-footed Albatross');
    expect(speciesName('017.Cardinal')).toBe('Cardinal');
    expect(speciesName('010.Red_winged_Blackbird')).toBe('Red-winged Blackbird');
    expect(speciesName('029.American_Crow')).toBe('American Crow');
  });
  it('capitalises all-lower-case names and keeps plain names', () => {
    expect(speciesName('pink primrose')).toBe('Pink primrose');
    expect(speciesName('Robin')).toBe('Robin');
    expect(speciesName('')).toBe('');
    expect(speciesName(null)).toBe('');
  });
  it("shows the curator's display name for a renamed species, and the derived name again once it is cleared", () => {
    useDisplayNames([
      { name: '017.Cardinal', displayName: 'Northern Cardinal' },
      { name: '029.American_Crow', displayName: null },
    ]);
    expect(speciesName('017.Cardinal')).toBe('Northern Cardinal');
    expect(speciesName('029.American_Crow')).toBe('American Crow');
    useDisplayNames([]);
    expect(speciesName('017.Cardinal')).toBe('Cardinal');
  });
  it('calls a run by its name, else by when it was trained, else by its id', () => {
    expect(runTitle({ id: 'r1', name: 'after fixing the crows', createdAt: '2026-12-01T14:05:00Z' })).toBe('after fixing the crows');
    const unnamed = runTitle({ id: 'r2', name: null, createdAt: '2026-12-01T14:05:00Z' });
    expect(unnamed).toMatch(/^Run of .*Dec/);
    expect(unnamed).not.toContain('r2');
    expect(runTitle({ id: 'r3', name: null, createdAt: '' })).toBe('r3');
  });
  it('names metrics in plain words and keeps the paper name', () => {
    expect(metricName('cider')).toEqual({ label: 'Caption quality', paper: 'CIDEr' });
    expect(metricName('val captionLoss').label).toBe('Caption error (held-out photos)');
    expect(metricName('val captionLoss').paper).toContain('caption loss');
    expect(metricName('mystery')).toEqual({ label: 'mystery', paper: 'mystery' });
    expect(variantName('cam').paper).toContain('L_cam');
  });
});

describe('refused requests in words', () => {
  it('drops the channel and says what was wrong', async () => {
    const { plainValidation } = await import('../../src-renderer/src/lib/api.ts');
    expect(plainValidation('captions:save: text: Too big: expected string to have <=10000 characters')).toBe(
      'the text is too long (at most 10,000 characters)',
    );
    expect(plainValidation('labels:set: imageIds: Too small: expected array to have >=1 items')).toBe('the image ids is empty');
    expect(plainValidation('something odd')).toBe('something odd');
  });
});
