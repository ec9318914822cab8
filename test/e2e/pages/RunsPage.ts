import type { Locator, Page } from 'playwright-core';

/** The Runs tab: the run comparison (the paper's Table 2), per-class bars, confusion matrix. */
export class RunsPage {
  readonly region: Locator;
  readonly table2: Locator;
  readonly confusion: Locator;

  constructor(readonly page: Page) {
    this.region = page.getByRole('region', { name: 'Runs' });
    this.table2 = this.region.getByRole('table', { name: 'Run comparison' });
    this.confusion = this.region.getByRole('table', { name: 'Confusion matrix' });
  }

  async open(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Runs' }).click();
    await this.region.waitFor();
  }

  runButton(id: string): Locator {
    return this.region.getByRole('button', { name: new RegExp(id) });
  }
}
