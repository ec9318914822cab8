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

  async count(): Promise<number> {
    const t = (await this.region.getByTestId('batch-count').textContent().catch(() => '')) ?? '';
    const m = /(\d+) results/.exec(t);
    return m ? Number(m[1]) : -1;
  }
}
