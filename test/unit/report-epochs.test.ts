import { describe, expect, it } from 'vitest';
import { epochSeries } from '../../src-main/api/report-html.ts';

describe('report epoch charts', () => {
  it('count epochs from 1 although the trainer logs them from 0', () => {
    const s = epochSeries([
      { epoch: 0, loss: { class: 1.5, caption: 3 }, seconds: 2 },
      { epoch: 1, loss: { class: 1.2, caption: 2.5 }, seconds: 2 },
    ]);
    expect(s.get('loss.class')).toEqual([
      [1, 1.5],
      [2, 1.2],
    ]);
    expect(s.has('seconds')).toBe(false);
  });

  it('fall back to the position in the log when an entry has no epoch', () => {
    expect(epochSeries([{ loss: 4 }, { loss: 3 }]).get('loss')).toEqual([
      [1, 4],
      [2, 3],
    ]);
  });
});
