/**
 * The runs domain: the list of training runs, the one open in the dashboard, and the comparison
 * table of the ticked ones. Components read these fields and call the methods; every read goes
 * through `api` here, never from a component.
 */
import type { RunComparison, RunDetail, RunSummary } from '../../../shared/types.ts';
import { api, errorText } from '../lib/api.ts';
import { app } from './app.svelte.ts';
import { gallery } from './gallery.svelte.ts';
import { jobs } from './jobs.svelte.ts';

class RunsStore {
  list = $state.raw<RunSummary[]>([]);
  /** The run open in the dashboard (with its evaluation, when it has one). */
  detail = $state.raw<RunDetail | null>(null);
  /** Table 2 over the ticked runs (null when none is ticked). */
  comparison = $state.raw<RunComparison | null>(null);
  /** The scoring job started from the dashboard, and the run it scores. */
  scoreJob = $state.raw<{ jobId: string; runId: string } | null>(null);
  /** The evaluation job started from the dashboard, while it runs. */
  evalJobId = $state<string | null>(null);
  /** The last failed read, shown above the dashboard ('' once a read succeeds again). */
  error = $state('');
  /** Counts the runs asked for: only the answer for the latest one is shown. */
  private opening = 0;

  /** Finished runs, newest first (the ones that can caption or score). */
  get done(): RunSummary[] {
    return this.list.filter((r) => r.status === 'done');
  }

  async loadList(): Promise<void> {
    this.error = '';
    await this.readList();
  }

  /** Reads the list and the open run again (by default the latest finished one). */
  async load(): Promise<void> {
    this.error = '';
    await this.readList();
    const id = this.detail?.id ?? (this.done[0] ?? this.list[0])?.id;
    if (id) await this.readRun(id);
  }

  async open(id: string): Promise<void> {
    this.error = '';
    await this.readRun(id);
  }

  private async readList(): Promise<void> {
    try {
      this.list = await api.invoke('runs:list', undefined);
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** Shows run `id`, unless another run was asked for while it was read (a slow answer must not replace it). */
  private async readRun(id: string): Promise<void> {
    const asked = ++this.opening;
    try {
      const run = await api.invoke('runs:get', { id });
      if (asked === this.opening) this.detail = run;
    } catch (e) {
      if (asked === this.opening) this.error = errorText(e);
    }
  }

  /** A finished run and the run it continued from (null for a run trained from scratch); throws an ApiError. */
  async withParent(id: string): Promise<{ run: RunDetail; parent: RunDetail | null }> {
    const run = await api.invoke('runs:get', { id });
    const parent = run.parentRun ? await api.invoke('runs:get', { id: run.parentRun }) : null;
    return { run, parent };
  }

  async compare(ids: string[]): Promise<void> {
    this.error = '';
    if (!ids.length) {
      this.comparison = null;
      return;
    }
    try {
      this.comparison = await api.invoke('runs:compare', { ids });
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** Opens the photos of one confusion-matrix cell of the open run in the gallery. */
  async openConfusionCell(trueClass: string, predClass: string, label: string): Promise<void> {
    const run = this.detail;
    if (!run) return;
    try {
      const { imageIds } = await api.invoke('runs:confusionCell', { runId: run.id, trueClass, predClass });
      if (!imageIds.length) return app.say('No photos in that cell');
      await gallery.showIds(imageIds, label);
    } catch (e) {
      app.say(errorText(e), true);
    }
  }

  /** Scores the collection with the open run: the review queue, suggestions and confusion cells use it from then on. */
  async score(): Promise<void> {
    const run = this.detail;
    if (!run) return;
    const jobId = await jobs.startJob(() => api.invoke('predict:start', { runId: run.id }), `Scoring with ${run.id}`);
    if (jobId) this.scoreJob = { jobId, runId: run.id };
  }

  /** Evaluates the open run (the dashboard re-reads it when the job finishes). */
  async evaluate(): Promise<void> {
    const run = this.detail;
    if (!run) return;
    this.evalJobId = await jobs.startJob(() => api.invoke('eval:start', { runId: run.id }), `Evaluate ${run.id}`);
  }
}

export const runs = new RunsStore();
