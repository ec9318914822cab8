import type { Locator, Page } from 'playwright-core';

export class ImportDialogPage {
  readonly dialog: Locator;

  constructor(readonly page: Page) {
    this.dialog = page.getByRole('dialog', { name: 'Import photos' });
  }

  async open(): Promise<void> {
    await this.page.getByRole('button', { name: 'Import', exact: true }).click();
    await this.dialog.waitFor();
  }

  async start(kind: 'CUB-200-2011' | 'Oxford Flowers-102' | 'Plain folder' | 'COCO captions JSON', path: string): Promise<void> {
    await this.dialog.getByRole('radio', { name: new RegExp(kind) }).check();
    await this.dialog.getByRole('textbox', { name: 'Path' }).fill(path);
    await this.dialog.getByRole('button', { name: 'Start' }).click();
  }

  get report(): Locator {
    return this.dialog.getByRole('region', { name: 'Import report' });
  }
}
