import type { ReviewStatus } from '../../shared/types.ts';
import { addCaption, reviseCaption, setLabel } from './annotations.ts';
import { mergedTarget } from './collections.ts';
import { tx, type Db } from './store.ts';
import { PlumageError } from '../util/errors.ts';

/**
 * The undo/redo journal (table `edits`). Every user action is one group of edits, each with the
 * JSON state before and after. Undo re-applies `before` through annotations.ts, so the label and
 * caption histories keep growing: nothing is ever deleted. `undone`: 0 = applied, 1 = undone
 * (redo-able), 2 = undone and then superseded by a new action (kept for the record, not redo-able).
 */

type LabelState = { classId: number | null; provenance: string | null };
type CaptionState = { text: string; deleted: boolean } | null;
type ReviewState = { status: ReviewStatus };
/** A painted mask (masks.ts): the PNG bytes as base64, or null for "no mask". */
export type MaskState = { width: number; height: number; png: string } | null;
/** A species (species.ts): its display name, the species it was merged into, whether it is removed. */
export type SpeciesState = { displayName: string | null; mergedInto: number | null; removed: boolean };

interface EditRow {
  id: number;
  group_id: number;
  kind: 'label' | 'caption' | 'review' | 'mask' | 'species';
  target_id: number;
  before: string | null;
  after: string | null;
}

/** A journal entry before it is recorded: which row changed, from what to what. */
export type EditEntry = { kind: EditRow['kind']; target: number; before: unknown; after: unknown };

const HUMAN = 'human';

function newGroup(db: Db): number {
  // A new action makes the redo branch unreachable, as in every editor.
  db.prepare('UPDATE edits SET undone = 2 WHERE undone = 1').run();
  const { g } = db.prepare('SELECT COALESCE(MAX(group_id), 0) + 1 AS g FROM edits').get() as { g: number };
  return g;
}

function journal(db: Db, group: number, kind: EditRow['kind'], target: number, before: unknown, after: unknown) {
  db.prepare('INSERT INTO edits(group_id, kind, target_id, before, after) VALUES (?, ?, ?, ?, ?)').run(
    group,
    kind,
    target,
    JSON.stringify(before),
    JSON.stringify(after),
  );
}

/** Journals one single-edit action (masks.ts uses it for painted masks) and returns its group. */
export function recordEdit(db: Db, kind: EditRow['kind'], target: number, before: unknown, after: unknown): number {
  const group = newGroup(db);
  journal(db, group, kind, target, before, after);
  return group;
}

/** Sets a species' display name, merge target and removed flag (species.ts and undo/redo). */
export function writeSpeciesState(db: Db, classId: number, s: SpeciesState): void {
  db.prepare('UPDATE classes SET display_name = ?, merged_into = ?, removed = ? WHERE id = ?').run(
    s.displayName,
    s.mergedInto,
    s.removed ? 1 : 0,
    classId,
  );
}

/** Journals one action made of several edits (a species merge: its labels and the species) and returns its group. */
export function recordGroup(db: Db, entries: EditEntry[]): number {
  const group = newGroup(db);
  for (const e of entries) journal(db, group, e.kind, e.target, e.before, e.after);
  return group;
}

/** An edit names an image, caption or job that does not exist. */
export class NotFoundError extends PlumageError {
  constructor(message: string) {
    super('not_found', message);
  }
}
/** An edit that cannot be applied as asked (empty caption, bad mask). */
export class InvalidEditError extends PlumageError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

function assertImages(db: Db, imageIds: number[]) {
  const stmt = db.prepare('SELECT 1 FROM images WHERE id = ?');
  for (const id of imageIds) if (!stmt.get(id)) throw new NotFoundError(`no image ${id}`);
}

/** Refuses a species that does not exist or belongs to another collection than one of the images. */
function assertLabelClass(db: Db, imageIds: number[], classId: number): void {
  const cls = db.prepare('SELECT collection_id FROM classes WHERE id = ?').get(classId) as { collection_id: number } | undefined;
  if (!cls) throw new NotFoundError(`no class ${classId}`);
  // A species list belongs to one collection: a class from another one would be meaningless.
  const foreign = db.prepare('SELECT id FROM images WHERE id = ? AND collection_id != ?');
  for (const id of imageIds) {
    if (foreign.get(id, cls.collection_id)) throw new InvalidEditError(`class ${classId} is not in the collection of image ${id}`);
  }
}

/**
 * Labels images with a species (provenance 'human') and returns the journal entries of the labels
 * that changed, for the caller to record as (part of) one action. Call inside a transaction.
 */
export function applyLabels(db: Db, imageIds: number[], asked: number | null): EditEntry[] {
  assertImages(db, imageIds);
  // An older run may still suggest a species that was merged since: the label goes to the species it became.
  const classId = asked === null ? null : mergedTarget(db, asked);
  if (classId !== null) assertLabelClass(db, imageIds, classId);
  const current = db.prepare('SELECT class_id, provenance FROM labels WHERE image_id = ?');
  const entries: EditEntry[] = [];
  for (const id of new Set(imageIds)) {
    const row = current.get(id) as { class_id: number; provenance: string } | undefined;
    const before: LabelState = { classId: row?.class_id ?? null, provenance: row?.provenance ?? null };
    if (before.classId === classId && (classId === null || before.provenance === HUMAN)) continue;
    setLabel(db, id, classId, HUMAN);
    entries.push({ kind: 'label', target: id, before, after: { classId, provenance: classId === null ? null : HUMAN } });
  }
  return entries;
}

/** Sets the label of several images as one undoable action. Returns how many changed. */
export function setLabels(db: Db, imageIds: number[], asked: number | null): number {
  return tx(db, () => {
    const entries = applyLabels(db, imageIds, asked);
    if (entries.length) recordGroup(db, entries);
    return entries.length;
  });
}

/** Sets the review status of several images as one undoable action. */
export function setReview(db: Db, imageIds: number[], status: ReviewStatus): number {
  return tx(db, () => {
    assertImages(db, imageIds);
    const current = db.prepare('SELECT review_status FROM images WHERE id = ?');
    const update = db.prepare('UPDATE images SET review_status = ? WHERE id = ?');
    let group = 0;
    let changed = 0;
    for (const id of new Set(imageIds)) {
      const { review_status } = current.get(id) as { review_status: ReviewStatus };
      if (review_status === status) continue;
      if (!group) group = newGroup(db);
      update.run(status, id);
      journal(db, group, 'review', id, { status: review_status }, { status });
      changed++;
    }
    return changed;
  });
}

/** Creates (no captionId) or revises a caption with provenance 'human', as one undoable action. */
export function saveCaption(db: Db, imageId: number, captionId: number | undefined, text: string): number {
  return tx(db, () => {
    assertImages(db, [imageId]);
    if (captionId === undefined) {
      const id = addCaption(db, imageId, text, HUMAN, true);
      journal(db, newGroup(db), 'caption', id, null, { text, deleted: false });
      return id;
    }
    const row = db.prepare('SELECT text, deleted FROM captions WHERE id = ? AND image_id = ?').get(captionId, imageId) as
      | { text: string; deleted: number }
      | undefined;
    if (!row || row.deleted) throw new NotFoundError(`no caption ${captionId} on image ${imageId}`);
    if (row.text === text) return captionId;
    const group = newGroup(db);
    reviseCaption(db, captionId, text, HUMAN);
    journal(db, group, 'caption', captionId, { text: row.text, deleted: false }, { text, deleted: false });
    return captionId;
  });
}

function applyState(db: Db, e: EditRow, stateJson: string | null): number {
  if (e.kind === 'label') {
    const s = JSON.parse(stateJson!) as LabelState;
    // Restore the earlier provenance too: undoing a fix brings back e.g. the imported label.
    setLabel(db, e.target_id, s.classId, s.provenance ?? HUMAN);
    return e.target_id;
  }
  if (e.kind === 'mask') {
    if (!db.prepare('SELECT 1 FROM images WHERE id = ?').get(e.target_id)) return -1; // image removed since
    const s = JSON.parse(stateJson ?? 'null') as MaskState;
    if (s === null) db.prepare('DELETE FROM masks WHERE image_id = ?').run(e.target_id);
    else
      db.prepare(
        `INSERT OR REPLACE INTO masks(image_id, width, height, png, updated_at)
         VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))`,
      ).run(e.target_id, s.width, s.height, Buffer.from(s.png, 'base64'));
    return e.target_id;
  }
  if (e.kind === 'species') {
    writeSpeciesState(db, e.target_id, JSON.parse(stateJson!) as SpeciesState);
    return -1; // not a photo: the window re-reads the species list after every undo
  }
  if (e.kind === 'review') {
    const s = JSON.parse(stateJson!) as ReviewState;
    db.prepare('UPDATE images SET review_status = ? WHERE id = ?').run(s.status, e.target_id);
    return e.target_id;
  }
  const cap = db.prepare('SELECT image_id, text FROM captions WHERE id = ?').get(e.target_id) as
    | { image_id: number; text: string }
    | undefined;
  if (!cap) return -1; // the caption's image was removed since; nothing left to restore
  const s = JSON.parse(stateJson ?? 'null') as CaptionState;
  if (s === null) {
    // Undoing a creation: soft delete, its revisions stay.
    db.prepare('UPDATE captions SET deleted = 1 WHERE id = ?').run(e.target_id);
  } else {
    db.prepare('UPDATE captions SET deleted = ? WHERE id = ?').run(s.deleted ? 1 : 0, e.target_id);
    if (cap.text !== s.text) reviseCaption(db, e.target_id, s.text, HUMAN);
  }
  return cap.image_id;
}

function walk(db: Db, direction: 'undo' | 'redo'): { ok: boolean; imageIds: number[] } {
  return tx(db, () => {
    const g = db
      .prepare(
        direction === 'undo'
          ? 'SELECT MAX(group_id) AS g FROM edits WHERE undone = 0'
          : 'SELECT MIN(group_id) AS g FROM edits WHERE undone = 1',
      )
      .get() as { g: number | null };
    if (g.g === null) return { ok: false, imageIds: [] };
    const rows = db
      .prepare(`SELECT * FROM edits WHERE group_id = ? ORDER BY id ${direction === 'undo' ? 'DESC' : 'ASC'}`)
      .all(g.g) as EditRow[];
    const images = new Set<number>();
    for (const e of rows) {
      const id = applyState(db, e, direction === 'undo' ? e.before : e.after);
      if (id >= 0) images.add(id);
    }
    db.prepare('UPDATE edits SET undone = ? WHERE group_id = ?').run(direction === 'undo' ? 1 : 0, g.g);
    return { ok: true, imageIds: [...images] };
  });
}

export function undo(db: Db): { undone: boolean; imageIds: number[] } {
  const r = walk(db, 'undo');
  return { undone: r.ok, imageIds: r.imageIds };
}

export function redo(db: Db): { redone: boolean; imageIds: number[] } {
  const r = walk(db, 'redo');
  return { redone: r.ok, imageIds: r.imageIds };
}
