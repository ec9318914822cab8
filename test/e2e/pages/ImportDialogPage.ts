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

  /**
   * Closes it with Esc and waits until the app has let go of it: a closed <dialog> leaves the
   * accessibility tree at once, but the app learns of it from the close event, a task later, and
   * until then it still counts a dialog as open (a window drop, for one, is ignored).
   */
  async close(): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.locator('dialog').waitFor({ state: 'detached' });
  }

  get report(): Locator {
    return this.dialog.getByRole('region', { name: 'Import report' });
  }
}
