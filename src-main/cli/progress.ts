import type { TrainEvent } from '../../shared/types.ts';
import type { OpEvent } from '../api/ops/context.ts';

/**
 * A progress line on stderr with count, rate and ETA. Redraws in place on a TTY and prints at
 * most every few seconds otherwise, so logs stay readable.
 */
export class Progress {
  private start = Date.now();
  private lastDraw = 0;
  private done = 0;
  constructor(
    private label: string,
    private total: number,
    private unit = 'items',
    private stream: NodeJS.WriteStream = process.stderr,
  ) {}

  tick(n = 1, note = ''): void {
    this.done += n;
    this.draw(note, false);
  }

  set(done: number, note = ''): void {
    this.done = done;
    this.draw(note, false);
  }

  finish(note = ''): void {
    this.draw(note, true);
  }

  private draw(note: string, final: boolean) {
    const now = Date.now();
    const tty = Boolean(this.stream.isTTY);
    if (!final && now - this.lastDraw < (tty ? 100 : 2000)) return;
    this.lastDraw = now;
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? this.done / secs : 0;
    const left = this.total - this.done;
    const eta = rate > 0 && left > 0 ? formatDuration(left / rate) : final ? formatDuration(secs) : '?';
    const pct = this.total > 0 ? Math.floor((100 * this.done) / this.total) : 100;
    const width = 24;
    const filled = Math.round((width * pct) / 100);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const line = `${this.label} [${bar}] ${this.done}/${this.total} ${pct}% ${rate.toFixed(1)} ${this.unit}/s ${final ? 'took' : 'ETA'} ${eta}${note ? ' ' + note : ''}`;
    if (tty) this.stream.write('\r\x1b[K' + line + (final ? '\n' : ''));
    else this.stream.write(line + '\n');
  }
}

/** Seconds as "42s", "1m05s" or "2h03m"; rounded once, so 119.6 s reads "2m00s", never "1m60s". */
export function formatDuration(seconds: number): string {
  if (!isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Prints an operation's job events as progress bars on stderr: one bar per phase (extract,
 * evaluate, predict, …), warnings as WARNING lines.
 */
export function jobPrinter(err: (line: string) => void): (e: OpEvent) => void {
  let bar: Progress | null = null;
  let label = '';
  return (e) => {
    if (e.type === 'warning') err(`WARNING: ${e.message}`);
    if (e.type !== 'progress') return;
    const phase = e.detail?.phase ?? e.message ?? 'working';
    if (phase !== label) {
      bar?.finish();
      label = phase;
      bar = new Progress(PHASE_LABELS[phase] ?? phase, e.total, e.unit ?? 'items');
    }
    bar?.set(e.done);
    if (bar && e.total > 0 && e.done >= e.total) {
      bar.finish();
      bar = null; // later events of this phase print nothing more
    }
  };
}

/**
 * Prints a many-step operation (demo, experiment): each stage as an `== stage` line with its own
 * progress bars; the trainer's events go to `onTrain`, which prints a training's progress itself.
 */
export function stagePrinter(err: (line: string) => void, onTrain: (e: TrainEvent) => void): (e: OpEvent) => void {
  let bars = jobPrinter(err);
  return (e) => {
    if (e.type === 'stage') {
      bars = jobPrinter(err);
      err(`== ${e.message}`);
    } else if (e.type === 'train') onTrain(e.event);
    else if (e.type !== 'progress' || e.detail?.phase !== 'train') bars(e);
  };
}

const PHASE_LABELS: Record<string, string> = { predict: 'score', evaluate: 'eval' };
