/**
 * What a background job is doing, in a short plain sentence for the status bar and progress panels
 * ("Captioning 12 of 40 photos…", "Training: round 3 of 15…"). The job's own label is internal
 * (the kind, a path, a run id): it stays in the tooltip.
 */
import type { JobInfo } from '../../../shared/types.ts';

type JobView = Pick<JobInfo, 'kind' | 'label' | 'status' | 'done' | 'total' | 'detail'>;

const count = (n: number) => Math.round(n).toLocaleString();

export function jobText(j: JobView): string {
  const ongoing = j.status === 'running' ? '…' : '';
  const photos = j.total > 0 ? ` ${count(j.done)} of ${count(j.total)} photos` : ' photos';
  const phase = j.detail?.phase ?? (j.kind === 'import' || j.kind === 'train' ? undefined : j.kind);
  if (j.kind === 'import') {
    // The demo's progress counts drawing and importing together, not photos.
    if (/demo/.test(j.label)) return `Making the demo birds${j.total > 0 ? ` (${Math.round((100 * j.done) / j.total)}%)` : ''}${ongoing}`;
    return `Importing${photos}${ongoing}`;
  }
  switch (phase) {
    case 'extract':
      return `Reading${photos}${ongoing}`;
    case 'predict':
      return `Scoring${photos}${ongoing}`;
    case 'evaluate':
      return `Testing the model on${photos}${ongoing}`;
    case 'caption':
      return `Captioning${photos}${ongoing}`;
  }
  const e = j.detail;
  if (e?.epoch != null && e.epochs) return `Training: round ${Math.min(e.epoch + 1, e.epochs)} of ${e.epochs}${ongoing}`;
  return `Training${ongoing}`;
}
