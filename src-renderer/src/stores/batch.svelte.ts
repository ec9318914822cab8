/**
 * The batch-caption domain: captioning a folder of new photos with a run, the captioned folders,
 * and the review of one folder's results (accept / edit / reject, import the accepted ones,
 * export CSV or COCO). The screen keeps only its cursor and the text being edited.
 */
import type { BatchJobInfo, BatchResultItem, JobInfo } from '../../../shared/types.ts';
import { api, errorText } from '../lib/api.ts';
import { choose, type Chosen } from '../lib/choose.ts';
import { captionedBatch } from '../lib/job-results.ts';
import { app } from './app.svelte.ts';

type Verdict = 'accepted' | 'edited' | 'rejected';

class BatchStore {
  /** The captioned folders, newest first. */
  batches = $state.raw<BatchJobInfo[]>([]);
  /** The batch whose results are open. */
  openId = $state<number | null>(null);
  results = $state.raw<BatchResultItem[]>([]);
  /** The captioning job started from this screen. */
  jobId = $state<string | null>(null);
  /** The last failure ('' again once an action succeeds), and the last finished import / export, in words. */
  error = $state('');
  note = $state('');
  /** Counts the batches asked for: only the answer for the latest one is shown. */
  private opening = 0;

  /** The captioning job whose results were already opened (a screen shown again must not reopen them). */
  private openedFor: string | null = null;

  get current(): BatchJobInfo | null {
    return this.batches.find((b) => b.id === this.openId) ?? null;
  }

  get counts(): { accepted: number; rejected: number; pending: number } {
    const r = this.results;
    return {
      accepted: r.filter((x) => x.review === 'accepted' || x.review === 'edited').length,
      rejected: r.filter((x) => x.review === 'rejected').length,
      pending: r.filter((x) => x.review === 'pending').length,
    };
  }

  async loadBatches(): Promise<void> {
    try {
      this.batches = await api.invoke('batch:list', undefined);
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** Starts captioning a folder (with the latest finished run unless one is named). */
  async caption(folder: string, runId: string): Promise<void> {
    this.error = '';
    if (!folder.trim()) {
      this.error = 'Enter a folder of photos.';
      return;
    }
    try {
      const req: { folder: string; runId?: string } = { folder: folder.trim() };
      if (runId) req.runId = runId;
      this.jobId = (await api.invoke('caption:start', req)).jobId;
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** After the captioning job finished: the folder list again and the new batch's results (once per job). */
  async captioned(job: JobInfo): Promise<boolean> {
    if (this.openedFor === job.id) return false;
    this.openedFor = job.id;
    await this.loadBatches();
    const id = captionedBatch(job) ?? this.batches[0]?.id;
    return id != null && (await this.openBatch(id));
  }

  /**
   * Shows batch `id`'s results; false when they could not be read (the batch shown before stays,
   * so a review always goes to the batch whose results are on screen) or when another batch was
   * asked for meanwhile.
   */
  async openBatch(id: number): Promise<boolean> {
    this.error = '';
    const asked = ++this.opening;
    try {
      const results = await api.invoke('batch:results', { jobId: id });
      if (asked !== this.opening) return false;
      this.openId = id;
      this.results = results;
      return true;
    } catch (e) {
      if (asked === this.opening) this.error = errorText(e);
      return false;
    }
  }

  /** Records the verdict on one result; false when the api refused it (the error is shown). */
  async review(relPath: string, review: Verdict, caption?: string): Promise<boolean> {
    const jobId = this.openId;
    if (jobId == null) return false;
    this.error = '';
    try {
      const req: { jobId: number; relPath: string; review: Verdict; caption?: string } = { jobId, relPath, review };
      if (review === 'edited') req.caption = caption;
      const updated = await api.invoke('batch:review', req);
      this.results = this.results.map((x) => (x.relPath === relPath ? updated : x));
      void this.loadBatches(); // the folder list shows how many are reviewed
      return true;
    } catch (e) {
      this.error = errorText(e);
      return false;
    }
  }

  /** Imports the accepted results into the given collection (default: a new one for the folder). */
  async importAccepted(collectionId?: number): Promise<void> {
    const jobId = this.openId;
    if (jobId == null) return;
    this.error = '';
    try {
      const r = await api.invoke('batch:importAccepted', collectionId === undefined ? { jobId } : { jobId, collectionId });
      await app.afterEdit([], null);
      await app.loadCollections();
      const name = app.collections.find((c) => c.id === r.collectionId)?.name ?? `collection ${r.collectionId}`;
      this.note = `Imported ${plural(r.imported, 'photo')} (${plural(r.captions, 'caption')}, ${r.skipped} skipped) into ${name}`;
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** Exports the open batch to a path (browser mode: a name inside the workspace's exports/) or a dialog token. */
  async exportTo(format: 'csv' | 'coco', path: string, include: 'accepted' | 'all' = 'accepted'): Promise<void> {
    const jobId = this.openId;
    if (jobId == null) return;
    this.error = '';
    try {
      const r = await api.invoke('batch:export', { jobId, format, path, include });
      this.note = `Exported ${plural(r.rows, 'row')} to ${r.path}`;
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** Desktop app: where to save is chosen in a native dialog. */
  async saveAs(format: 'csv' | 'coco'): Promise<void> {
    const c = await this.choose('save', format === 'coco' ? 'plumage-captions.json' : 'plumage-captions.csv');
    if (c) await this.exportTo(format, c.token);
  }

  /** Desktop app: the folder to caption, chosen in a native dialog (null when cancelled). */
  private async choose(purpose: 'folder' | 'save', defaultName?: string): Promise<Chosen | null> {
    try {
      return await choose(purpose, defaultName);
    } catch (e) {
      this.error = errorText(e);
      return null;
    }
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export const batch = new BatchStore();
