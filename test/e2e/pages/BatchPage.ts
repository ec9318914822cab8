import type { Locator, Page } from 'playwright-core';

/** The batch-caption screen: start form, folders, reviewable results, import / export. */
export class BatchPage {
  readonly region: Locator;
  readonly form: Locator;
  readonly results: Locator;

  constructor(readonly page: Page) {
    this.region = page.getByRole('region', { name: 'Batch captions' });
    this.form = this.region.getByRole('form', { name: 'Caption a folder' });
    this.results = this.region.getByRole('list', { name: 'Batch results' }).getByRole('listitem');
  }

  async start(folder: string): Promise<void> {
    await this.form.getByRole('textbox', { name: 'Folder' }).fill(folder);
    await this.form.getByRole('button', { name: 'Start' }).click();
  }

  /** The thumbnail of one result, by its file name (the img's alt). */
  thumbnail(fileName: string): Locator {
    return this.region.getByRole('list', { name: 'Batch results' }).getByRole('img', { name: fileName, exact: true });
  }

  /** The thumbnail's decoded width (0 while it has not loaded, or when it failed to). */
  async thumbnailWidth(fileName: string): Promise<number> {
    return this.thumbnail(fileName).evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0));
  }

  async count(): Promise<number> {
    const t = (await this.region.getByTestId('batch-count').textContent().catch(() => '')) ?? '';
    const m = /(\d+) results/.exec(t);
    return m ? Number(m[1]) : -1;
  }
}
