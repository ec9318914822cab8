import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src-main/cli/progress.ts';

describe('formatDuration', () => {
  it('rounds once, so a minute boundary never reads as 60 seconds', () => {
    expect(formatDuration(59.7)).toBe('1m00s');
    expect(formatDuration(119.6)).toBe('2m00s');
    expect(formatDuration(3599.6)).toBe('1h00m');
  });

  it('reads seconds, minutes and hours', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(42.2)).toBe('42s');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(2 * 3600 + 3 * 60 + 10)).toBe('2h03m');
    expect(formatDuration(Infinity)).toBe('?');
  });
});
