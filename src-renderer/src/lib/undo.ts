/**
 * Undo/redo client over the main side's edit journal (edits:undo / edits:redo). Calls are
 * serialised, so holding Ctrl-Z undoes one group per press in order rather than racing, and every
 * answer reports which photos changed so the views can refresh exactly those.
 */
import type { Api } from '../../../shared/ipc.ts';

export interface UndoOutcome {
  op: 'undo' | 'redo';
  /** False when there was nothing to undo/redo. */
  applied: boolean;
  imageIds: number[];
  message: string;
}

export class UndoClient {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly api: Pick<Api, 'invoke'>,
    private readonly onOutcome: (o: UndoOutcome) => void = () => {},
  ) {}

  undo(): Promise<UndoOutcome> {
    return this.enqueue('undo');
  }

  redo(): Promise<UndoOutcome> {
    return this.enqueue('redo');
  }

  private enqueue(op: 'undo' | 'redo'): Promise<UndoOutcome> {
    const next = this.chain.then(async () => {
      let outcome: UndoOutcome;
      if (op === 'undo') {
        const r = await this.api.invoke('edits:undo', undefined);
        outcome = { op, applied: r.undone, imageIds: r.imageIds, message: r.undone ? describe('Undid', r.imageIds) : 'Nothing to undo' };
      } else {
        const r = await this.api.invoke('edits:redo', undefined);
        outcome = { op, applied: r.redone, imageIds: r.imageIds, message: r.redone ? describe('Redid', r.imageIds) : 'Nothing to redo' };
      }
      this.onOutcome(outcome);
      return outcome;
    });
    // A failed call must not block the ones after it.
    this.chain = next.catch(() => undefined);
    return next;
  }
}

function describe(verb: string, ids: number[]): string {
  // A species rename or creation changes no photo's label.
  if (!ids.length) return `${verb} a species edit`;
  return `${verb} an edit on ${ids.length} photo${ids.length === 1 ? '' : 's'}`;
}
