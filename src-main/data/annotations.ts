import type { Db } from './store.ts';
import { assertCaptionLength } from './text-limits.ts';
import { notFound } from '../util/errors.ts';

/**
 * Labels and captions: every write goes through here so that the revision history
 * (label_history, caption_revisions) is always appended — no edit is ever lost.
 */

/** Sets (or replaces) an image's label and appends it to the history. Returns the previous class id. */
export function setLabel(db: Db, imageId: number, classId: number | null, provenance: string): number | null {
  const prev = db.prepare('SELECT class_id FROM labels WHERE image_id = ?').get(imageId) as
    | { class_id: number }
    | undefined;
  if (classId === null) db.prepare('DELETE FROM labels WHERE image_id = ?').run(imageId);
  else
    db.prepare(
      `INSERT INTO labels(image_id, class_id, provenance) VALUES (?, ?, ?)
       ON CONFLICT(image_id) DO UPDATE SET class_id = excluded.class_id, provenance = excluded.provenance,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
    ).run(imageId, classId, provenance);
  db.prepare('INSERT INTO label_history(image_id, class_id, provenance) VALUES (?, ?, ?)').run(
    imageId,
    classId,
    provenance,
  );
  return prev ? prev.class_id : null;
}

/** Appends a caption to an image (next free ord) with its first revision. Returns the caption id. */
export function addCaption(db: Db, imageId: number, text: string, provenance: string, accepted = true): number {
  assertCaptionLength(text);
  const { next } = db
    .prepare('SELECT COALESCE(MAX(ord) + 1, 0) AS next FROM captions WHERE image_id = ?')
    .get(imageId) as { next: number };
  const id = Number(
    db
      .prepare('INSERT INTO captions(image_id, ord, text, provenance, accepted) VALUES (?, ?, ?, ?, ?)')
      .run(imageId, next, text, provenance, accepted ? 1 : 0).lastInsertRowid,
  );
  db.prepare('INSERT INTO caption_revisions(caption_id, text, provenance) VALUES (?, ?, ?)').run(id, text, provenance);
  return id;
}

/** Changes a caption's text, appending a revision. Returns the previous text. */
export function reviseCaption(db: Db, captionId: number, text: string, provenance: string): string {
  assertCaptionLength(text);
  const row = db.prepare('SELECT text FROM captions WHERE id = ?').get(captionId) as { text: string } | undefined;
  if (!row) throw notFound(`no caption ${captionId}`);
  db.prepare(
    `UPDATE captions SET text = ?, provenance = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`,
  ).run(text, provenance, captionId);
  db.prepare('INSERT INTO caption_revisions(caption_id, text, provenance) VALUES (?, ?, ?)').run(
    captionId,
    text,
    provenance,
  );
  return row.text;
}
