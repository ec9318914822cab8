import type { Locator, Page } from 'playwright-core';

/** The Species manager dialog: the species list with counts, add, rename and merge. */
export class SpeciesPage {
  readonly dialog: Locator;
  readonly table: Locator;

  constructor(readonly page: Page) {
    this.dialog = page.getByRole('dialog', { name: 'Species' });
    this.table = this.dialog.getByRole('table', { name: 'Species of the collection' });
  }

  async open(): Promise<void> {
    await this.page.getByRole('group', { name: 'Filters' }).getByRole('button', { name: 'Species…' }).click();
    await this.table.getByRole('row').nth(1).waitFor();
  }

  /** The [name, photo count] of every row, in the order shown. */
  async rows(): Promise<[string, number][]> {
    return this.table.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim());
        return [cells[0], Number(cells[1])] as [string, number];
      }),
    );
  }

  renameButton(name: string): Locator {
    return this.dialog.getByRole('button', { name: `Rename ${name}`, exact: true });
  }

  nameField(name: string): Locator {
    return this.dialog.getByRole('textbox', { name: `New name for ${name}`, exact: true });
  }

  mergeButton(name: string): Locator {
    return this.dialog.getByRole('button', { name: `Merge ${name} into another species`, exact: true });
  }

  mergeTarget(name: string): Locator {
    return this.dialog.getByRole('combobox', { name: `Merge ${name} into`, exact: true });
  }

  get undo(): Locator {
    return this.dialog.getByRole('button', { name: 'Undo last change' });
  }

  async close(): Promise<void> {
    await this.dialog.getByRole('button', { name: 'Close' }).click();
    await this.dialog.waitFor({ state: 'detached' });
  }
}
