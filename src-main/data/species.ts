import type { ClassInfo } from '../../shared/types.ts';
import { derivedSpeciesName, speciesNameKey } from '../../shared/species-names.ts';
import { setLabel } from './annotations.ts';
import { applyLabels, recordGroup, writeSpeciesState, type SpeciesState } from './edits.ts';
import { classInfo } from './queries.ts';
import { tx, type Db } from './store.ts';
import { conflict, invalidRequest, notFound } from '../util/errors.ts';

/**
 * The Species manager's edits: create, rename and merge species, each one undoable action in the
 * edit journal (edits.ts). A species is a row of `classes`; its raw `name` never changes, because
 * imports, a run's class list and warm starts match on it. Renaming sets `display_name`; merging
 * moves every label to the other species and hides the merged one (`merged_into`), keeping its row
 * so label history, old predictions and trained runs that refer to it stay valid.
 */

interface ClassRow {
  id: number;
  collection_id: number;
  name: string;
  display_name: string | null;
  merged_into: number | null;
  removed: number;
}

const stateOf = (r: ClassRow): SpeciesState => ({
  displayName: r.display_name,
  mergedInto: r.merged_into,
  removed: r.removed === 1,
});

function classRow(db: Db, classId: number): ClassRow {
  const row = db.prepare('SELECT * FROM classes WHERE id = ?').get(classId) as ClassRow | undefined;
  if (!row) throw notFound(`no species ${classId}`);
  return row;
}

const shown = (r: ClassRow) => r.display_name ?? derivedSpeciesName(r.name);
const live = (r: ClassRow) => r.merged_into === null && r.removed === 0;

function liveClass(db: Db, classId: number): ClassRow {
  const row = classRow(db, classId);
  if (!live(row)) throw notFound(`species '${shown(row)}' was merged or removed`);
  return row;
}

/** Refuses a name another live species of the collection already shows (compared loosely). */
function assertNameFree(db: Db, collectionId: number, name: string, exceptId: number | null): void {
  const key = speciesNameKey(name);
  const rows = db.prepare('SELECT * FROM classes WHERE collection_id = ?').all(collectionId) as ClassRow[];
  const clash = rows.find(
    (r) =>
      r.id !== exceptId && live(r) && (speciesNameKey(shown(r)) === key || speciesNameKey(r.name) === key),
  );
  if (clash) throw conflict(`there is already a species called '${shown(clash)}'`);
}

const info = (db: Db, classId: number): ClassInfo => classInfo(db, classId)!;

/**
 * Adds a species to a collection. Its raw id is the name as typed; a hidden species with that raw
 * id (merged away, or a creation that was undone) comes back instead of a second row. The photos
 * in `labelIds` are labelled with it in the same undo step (a species typed in the photo view), so
 * one undo removes both the labels and the species.
 */
export function createSpecies(db: Db, collectionId: number, name: string, labelIds: number[] = []): ClassInfo {
  return tx(db, () => {
    if (!db.prepare('SELECT 1 FROM collections WHERE id = ?').get(collectionId))
      throw notFound(`no collection ${collectionId}`);
    const typed = name.trim();
    if (!typed) throw invalidRequest('a species needs a name');
    assertNameFree(db, collectionId, typed, null);
    const hidden = db
      .prepare('SELECT * FROM classes WHERE collection_id = ? AND name = ?')
      .get(collectionId, typed) as ClassRow | undefined;
    const id =
      hidden?.id ??
      Number(
        db
          .prepare('INSERT INTO classes(collection_id, name, removed) VALUES (?, ?, 1)')
          .run(collectionId, typed).lastInsertRowid,
      );
    const before = hidden ? stateOf(hidden) : { displayName: null, mergedInto: null, removed: true };
    const after: SpeciesState = { displayName: null, mergedInto: null, removed: false };
    writeSpeciesState(db, id, after);
    // The species edit is journalled first, so undo takes the labels off before hiding the species.
    const labels = applyLabels(db, labelIds, id);
    recordGroup(db, [{ kind: 'species', target: id, before, after }, ...labels]);
    return info(db, id);
  });
}

/** Gives a species a new display name (its raw id stays). Returns it unchanged when the name is the same. */
export function renameSpecies(db: Db, classId: number, name: string): ClassInfo {
  return tx(db, () => {
    const row = liveClass(db, classId);
    const typed = name.trim();
    if (!typed) throw invalidRequest('a species needs a name');
    if (typed === shown(row)) return info(db, classId);
    assertNameFree(db, row.collection_id, typed, classId);
    // The name the raw id already reads as needs no display name of its own.
    const after: SpeciesState = {
      ...stateOf(row),
      displayName: typed === derivedSpeciesName(row.name) ? null : typed,
    };
    writeSpeciesState(db, classId, after);
    recordGroup(db, [{ kind: 'species', target: classId, before: stateOf(row), after }]);
    return info(db, classId);
  });
}

/**
 * Merges species `fromId` into `intoId` (same collection): every photo labelled `fromId` is
 * relabelled `intoId` (keeping the label's provenance: who decided what the photo shows has not
 * changed, only what the species is called) and `fromId` disappears from the species list.
 * Returns how many photos moved.
 */
export function mergeSpecies(db: Db, fromId: number, intoId: number): { moved: number } {
  return tx(db, () => {
    if (fromId === intoId) throw invalidRequest('a species cannot be merged into itself');
    const from = liveClass(db, fromId);
    const into = liveClass(db, intoId);
    if (from.collection_id !== into.collection_id)
      throw invalidRequest('species of different collections cannot be merged');
    const labels = db
      .prepare('SELECT image_id, provenance FROM labels WHERE class_id = ? ORDER BY image_id')
      .all(fromId) as {
      image_id: number;
      provenance: string;
    }[];
    const entries = labels.map((l) => {
      setLabel(db, l.image_id, intoId, l.provenance);
      const before = { classId: fromId, provenance: l.provenance };
      return { kind: 'label' as const, target: l.image_id, before, after: { ...before, classId: intoId } };
    });
    const after: SpeciesState = { ...stateOf(from), mergedInto: intoId };
    writeSpeciesState(db, fromId, after);
    // The species edit is journalled last, so undo restores the species before its labels.
    recordGroup(db, [...entries, { kind: 'species', target: fromId, before: stateOf(from), after }]);
    return { moved: labels.length };
  });
}
