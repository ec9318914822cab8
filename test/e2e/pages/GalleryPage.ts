import type { Locator, Page } from 'playwright-core';

/** The gallery screen, addressed by its accessible names (docs/design.md: Desktop app). */
export class GalleryPage {
  readonly region: Locator;
  readonly images: Locator;
  readonly scroller: Locator;
  readonly search: Locator;
  readonly status: Locator;

  constructor(readonly page: Page) {
    this.region = page.getByRole('region', { name: 'Gallery' });
    this.images = this.region.getByRole('img');
    this.scroller = this.region.getByRole('grid', { name: 'Photos' });
    this.search = page.getByRole('searchbox', { name: 'Search captions' });
    this.status = page.getByRole('contentinfo', { name: 'Status' });
  }

  async goto(url: string): Promise<void> {
    await this.page.goto(url);
    await this.images.first().waitFor();
  }

  image(fileName: string): Locator {
    return this.region.getByRole('img', { name: fileName, exact: true });
  }

  tile(fileName: string): Locator {
    // `has` is matched inside each cell, so the inner locator starts from the page, not the region.
    return this.region.getByRole('gridcell').filter({ has: this.page.getByRole('img', { name: fileName, exact: true }) });
  }

  async altTexts(): Promise<string[]> {
    return this.images.evaluateAll((els) => els.map((e) => e.getAttribute('alt') ?? ''));
  }

  async scrollTo(top: number): Promise<void> {
    await this.scroller.evaluate((el, t) => {
      el.scrollTop = t;
      el.dispatchEvent(new Event('scroll'));
    }, top);
  }

  async scrollToEnd(): Promise<void> {
    await this.scroller.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
      el.dispatchEvent(new Event('scroll'));
    });
  }

  async searchFor(text: string): Promise<void> {
    await this.search.fill(text);
    await this.search.press('Enter');
  }

  async open(fileName: string): Promise<void> {
    await this.image(fileName).dblclick();
    await this.page.getByRole('textbox', { name: 'Caption' }).waitFor();
  }

  async photoCount(): Promise<number> {
    const text = (await this.status.textContent()) ?? '';
    const m = /([\d,]+) photos?/.exec(text);
    return m ? Number(m[1].replace(/,/g, '')) : NaN;
  }

  /** The species line drawn on a tile (the label the gallery shows for that photo). */
  async tileSpecies(fileName: string): Promise<string> {
    return ((await this.tile(fileName).locator('.name').textContent()) ?? '').trim();
  }

  get bulkSpecies(): Locator {
    return this.page.getByRole('toolbar', { name: 'Bulk edit' }).getByRole('combobox', { name: 'Species' });
  }
}
