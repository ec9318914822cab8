/**
 * The jobs domain: every long job the main side runs (import, training, scoring, evaluation,
 * captioning, demo data) as its `job:progress` pushes report it, the live training curves, the
 * runs that can be resumed, and starting / cancelling jobs. When a job ends it tells the user
 * once and lets the gallery re-read what the job changed.
 */
import type { Req, RetrainRequest } from '../../../shared/ipc.ts';
import type { JobInfo, ResumableRun } from '../../../shared/types.ts';
import { api, errorText } from '../lib/api.ts';
import { app } from './app.svelte.ts';

/** One point of a live training curve (per step, or per finished epoch). */
export interface CurvePoint {
  x: number;
  y: number;
}

/** A training job's curves by series name: step losses, and per-epoch losses and validation values. */
export interface TrainingCurves {
  steps: Record<string, CurvePoint[]>;
  epochs: Record<string, CurvePoint[]>;
}

/** Job kinds in words, for notifications. */
const JOB_NAMES: Record<string, string> = {
  import: 'Import',
  train: 'Training',
  predict: 'Scoring',
  evaluate: 'Evaluation',
  caption: 'Captioning',
  extract: 'Feature extraction',
  demo: 'Demo data',
};

class JobsStore {
  list = $state.raw<JobInfo[]>([]);
  /** Runs that stopped mid-training and can be resumed (train:resumable). */
  resumable = $state.raw<ResumableRun[]>([]);
  /** The training job the Retrain panel follows. */
  trainJobId = $state<string | null>(null);
  /** The "Try the demo data" job, while the welcome screen follows it. */
  demoJobId = $state<string | null>(null);
  /** Live curves per training job. */
  curves = $state.raw<Record<string, TrainingCurves>>({});
  /** Jobs whose end was already announced (progress pushes repeat the final state). */
  private announced = new Set<string>();

  byId(id: string | null): JobInfo | null {
    return id == null ? null : (this.list.find((j) => j.id === id) ?? null);
  }

  get running(): JobInfo[] {
    return this.list.filter((j) => j.status === 'running');
  }

  /** Whether the training job the Retrain panel follows is still running. */
  get training(): boolean {
    return this.byId(this.trainJobId)?.status === 'running';
  }

  /** Follows job:progress pushes and reads the jobs already running and the resumable runs. */
  async start(): Promise<void> {
    api.on('job:progress', (job) => this.update(job));
    await Promise.all([
      api.invoke('jobs:list', undefined).then((jobs) => (this.list = jobs)).catch(() => {}),
      this.loadResumable(),
    ]);
  }

  async loadResumable(): Promise<void> {
    try {
      this.resumable = await api.invoke('train:resumable', undefined);
    } catch {
      this.resumable = [];
    }
  }

  /** One job's new state (a push, or a poll of jobs:list). */
  update(job: JobInfo): void {
    this.list = [...this.list.filter((j) => j.id !== job.id), job];
    if (job.kind === 'train') this.recordCurves(job);
    // A stopped or failed training can be resumed at once: offer it without a reload. The main side
    // reports a job's end only after the trainer has written the run's state and let go of it.
    const ended = job.status !== 'running';
    if ((job.kind === 'train' && ended) || (job.status === 'done' && (job.kind === 'predict' || job.kind === 'evaluate'))) void this.loadResumable();
    if (job.status === 'done') app.afterJob(job);
    this.announce(job);
  }

  /** Re-reads one job (covers a push missed while the connection was being made). */
  async refresh(id: string): Promise<void> {
    try {
      const mine = (await api.invoke('jobs:list', undefined)).find((x) => x.id === id);
      if (mine) this.update(mine);
    } catch {
      /* the push channel may still deliver */
    }
  }

  async cancel(jobId: string): Promise<void> {
    try {
      await api.invoke('jobs:cancel', { jobId });
    } catch (e) {
      app.say(errorText(e), true);
    }
  }

  /** Starts a job and says so; its id, or null when the main side refused (the reason is shown). */
  async startJob(run: () => Promise<{ jobId: string }>, label: string): Promise<string | null> {
    try {
      const { jobId } = await run();
      app.say(`${label} started`);
      return jobId;
    } catch (e) {
      app.say(`${label}: ${errorText(e)}`, true);
      return null;
    }
  }

  /** Starts importing a collection; the job id (the dialog follows it) or an ApiError. */
  async importCollection(req: Req<'import:start'>): Promise<string> {
    return (await api.invoke('import:start', req)).jobId;
  }

  async tryDemo(): Promise<void> {
    this.demoJobId = await this.startJob(() => api.invoke('demo:start', undefined), 'Demo data');
  }

  async retrain(settings: RetrainRequest = {}): Promise<void> {
    this.followTraining(await this.startJob(() => api.invoke('train:start', settings), 'Training'));
  }

  /** Opens the Retrain panel on its settings form (nothing starts until "Start training"). */
  retrainSettings(): void {
    if (!this.training) this.trainJobId = null;
    app.dialog = 'retrain';
  }

  async resume(runId: string): Promise<void> {
    const id = await this.startJob(() => api.invoke('train:resume', { runId }), `Resume ${runId}`);
    if (id) this.resumable = this.resumable.filter((r) => r.id !== runId);
    this.followTraining(id);
  }

  private followTraining(jobId: string | null): void {
    if (!jobId) return;
    this.trainJobId = jobId;
    app.dialog = 'retrain';
  }

  /** One toast when a job ends: finished, stopped or failed (with its reason). */
  private announce(job: JobInfo): void {
    if (job.status === 'running' || this.announced.has(job.id)) return;
    this.announced.add(job.id);
    const what = JOB_NAMES[job.kind] ?? 'Job';
    if (job.status === 'done') app.say(job.id === this.demoJobId ? 'The demo birds are ready' : `${what} finished`);
    else if (job.status === 'cancelled') app.say(`${what} stopped`);
    else if (job.status === 'failed') app.say(`${what} failed: ${job.message ?? 'unknown reason'}`, true);
  }

  /** Appends a training push to its job's curves (step losses; per-epoch losses and validation). */
  private recordCurves(job: JobInfo): void {
    const d = job.detail;
    if (!d) return;
    const prev = this.curves[job.id] ?? { steps: {}, epochs: {} };
    const steps = { ...prev.steps };
    if (d.losses && d.step != null) {
      for (const [k, v] of Object.entries(d.losses)) {
        if (!Number.isFinite(v)) continue;
        const pts = steps[k] ?? [];
        if (!pts.length || pts[pts.length - 1].x < d.step) steps[k] = [...pts, { x: d.step, y: v }];
      }
    }
    const epochs: Record<string, CurvePoint[]> = {};
    for (const h of d.history ?? []) {
      for (const [k, v] of Object.entries({ ...(h.losses ?? {}), ...Object.fromEntries(Object.entries(h.val ?? {}).map(([a, b]) => [`val ${a}`, b])) })) {
        if (v == null || !Number.isFinite(v)) continue;
        (epochs[k] ??= []).push({ x: h.epoch + 1, y: v }); // the trainer counts epochs from 0
      }
    }
    this.curves = { ...this.curves, [job.id]: { steps, epochs: Object.keys(epochs).length ? epochs : prev.epochs } };
  }
}

export const jobs = new JobsStore();
