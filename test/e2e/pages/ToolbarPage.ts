import type { Locator, Page } from 'playwright-core';

/** What the layout check found: overlapping pairs, cut-off labels, controls off screen or on a second line. */
export interface LayoutReport {
  controls: string[];
  overlaps: string[];
  clipped: string[];
  offscreen: string[];
  rows: number[];
}

/** The toolbar at the top of the window: screens, actions and the gallery filters. */
export class ToolbarPage {
  readonly bar: Locator;
  readonly filters: Locator;
  readonly actions: Locator;

  constructor(readonly page: Page) {
    this.bar = page.locator('header.bar');
    this.filters = page.getByRole('group', { name: 'Filters' });
    this.actions = page.getByRole('group', { name: 'Actions' });
  }

  /**
   * Measures every visible control in the bar (buttons, selects, inputs, the filter chip):
   * bounding boxes that intersect (a control and its own child excepted), text wider than its
   * box (scrollWidth > clientWidth, and for a select the chosen option's text measured with the
   * select's own font against its inner width), boxes outside the viewport, and how many
   * distinct lines the controls sit on.
   */
  async layout(): Promise<LayoutReport> {
    return this.bar.evaluate((bar) => {
      const name = (el: Element) =>
        el.getAttribute('aria-label') || (el as HTMLElement).innerText?.trim() || (el as HTMLInputElement).placeholder || el.tagName;
      const els = [...bar.querySelectorAll('button, select, input, .chip')].filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0;
      }) as HTMLElement[];
      const boxes = els.map((el) => el.getBoundingClientRect());
      const overlaps: string[] = [];
      for (let i = 0; i < els.length; i++)
        for (let j = i + 1; j < els.length; j++) {
          if (els[i].contains(els[j]) || els[j].contains(els[i])) continue;
          const a = boxes[i];
          const b = boxes[j];
          if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps.push(`${name(els[i])} × ${name(els[j])}`);
        }
      const ctx = document.createElement('canvas').getContext('2d')!;
      const clipped: string[] = [];
      for (const el of els) {
        if (el.scrollWidth > el.clientWidth) clipped.push(`${name(el)} (${el.scrollWidth} > ${el.clientWidth})`);
        if (el instanceof HTMLSelectElement) {
          const cs = getComputedStyle(el);
          ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
          const text = ctx.measureText(el.selectedOptions[0]?.text ?? '').width;
          const inner = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
          if (text > inner) clipped.push(`${name(el)} option text ${Math.ceil(text)} px > ${inner} px`);
        }
      }
      const offscreen = els.filter((_, i) => boxes[i].left < 0 || boxes[i].right > window.innerWidth).map(name);
      // Lines: vertical centres of the controls, grouped when within 8 px of each other.
      const centres = boxes.map((b) => b.top + b.height / 2).sort((a, b) => a - b);
      const rows = centres.filter((c, i) => i === 0 || c - centres[i - 1] > 8).map(Math.round);
      return { controls: els.map(name), overlaps, clipped, offscreen, rows };
    });
  }
}
