import type { Locator, Page } from 'playwright-core';

/** The heat-map mode of the photo view: Konva stages, controls, caption words, mask brush. */
export class HeatMapPage {
  readonly controls: Locator;
  readonly words: Locator;

  constructor(readonly page: Page) {
    this.controls = page.getByRole('toolbar', { name: 'Heat-map controls' });
    this.words = page.getByLabel('Model caption');
  }

  stage(name: string | RegExp): Locator {
    return this.page.getByRole('img', { name });
  }

  /** Pixels of one Konva layer canvas of a stage with alpha > 0 and a non-black colour. */
  async paintedPixels(stage: Locator, layer: 'heat' | 'paint' | 'photo'): Promise<number> {
    return stage.evaluate((el, l) => {
      const c = el.querySelector(`canvas[data-layer="${l}"]`) as HTMLCanvasElement | null;
      if (!c || !c.width || !c.height) return 0;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] + d[i + 1] + d[i + 2] > 0) n++;
      return n;
    }, layer);
  }

  /** Alpha of one pixel of a layer canvas, at fractions of the canvas (0 when there is no canvas yet). */
  async alphaAt(stage: Locator, layer: 'heat' | 'paint' | 'photo', fx: number, fy: number): Promise<number> {
    return stage.evaluate(
      (el, [l, x, y]) => {
        const c = el.querySelector(`canvas[data-layer="${l}"]`) as HTMLCanvasElement | null;
        if (!c || !c.width || !c.height) return 0;
        return c.getContext('2d')!.getImageData(Math.floor(c.width * x), Math.floor(c.height * y), 1, 1).data[3];
      },
      [layer, fx, fy] as const,
    );
  }

  /** Drags the mouse across a stage through the given fractions of its box. */
  async stroke(stage: Locator, from: [number, number], to: [number, number], steps = 12): Promise<void> {
    const b = (await stage.boundingBox())!;
    const m = this.page.mouse;
    await m.move(b.x + b.width * from[0], b.y + b.height * from[1]);
    await m.down();
    for (let i = 1; i <= steps; i++) {
      const t = i / steps;
      await m.move(b.x + b.width * (from[0] + (to[0] - from[0]) * t), b.y + b.height * (from[1] + (to[1] - from[1]) * t));
    }
    await m.up();
  }

  button(name: string): Locator {
    return this.controls.getByRole('button', { name, exact: true });
  }
}
