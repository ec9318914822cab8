import type { Locator, Page } from 'playwright-core';

/** The photo view: large photo, species combobox, caption editor with history. */
export class PhotoPage {
  readonly caption: Locator;
  readonly species: Locator;
  readonly history: Locator;
  readonly title: Locator;
  readonly details: Locator;

  constructor(readonly page: Page) {
    this.caption = page.getByRole('textbox', { name: 'Caption' });
    this.species = page.getByRole('combobox', { name: 'Species', exact: true });
    this.history = page.getByRole('region', { name: 'Caption history' });
    this.details = page.getByRole('complementary', { name: 'Photo details' });
    this.title = this.details.getByRole('heading', { level: 2 });
  }

  async editCaption(text: string): Promise<void> {
    await this.caption.click();
    await this.caption.fill(text);
    // Leaving the box saves (blur).
    await this.caption.blur();
    await this.details.getByText('Saved', { exact: true }).waitFor();
  }

  async historyTexts(): Promise<string[]> {
    return this.history.locator('.rev-text').allTextContents();
  }

  async pickSpecies(typed: string, expect: string): Promise<void> {
    await this.species.click();
    await this.species.fill(typed);
    await this.page.getByRole('listbox', { name: 'Species choices' }).getByRole('option', { name: new RegExp(expect) }).first().waitFor();
    await this.species.press('Enter');
  }

  async back(): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.getByRole('region', { name: 'Gallery' }).waitFor();
  }
}
