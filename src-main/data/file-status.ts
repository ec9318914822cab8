import { statSync } from 'node:fs';
import type { FileStatus } from '../../shared/types.ts';
import { sha256File } from './hashing.ts';
import type { Db } from './store.ts';

/**
 * Whether a photo's file still holds the bytes that were imported (images.file_status). Labels and
 * captions describe the photo as imported, so a file replaced on disk must not quietly stand in
 * for it: the image routes answer 410 for it and the gallery shows it as "changed on disk".
 */

export interface StoredFile {
  id: number;
  contentHash: string;
  bytes: number;
  mtimeMs: number;
  fileStatus: FileStatus;
}

/**
 * Compares the file at `path` with what was imported. Size and modification time equal to the
 * stored ones mean unchanged without reading the file; otherwise the file is hashed (a file that
 * was only touched or copied back keeps its status 'ok', and its new time is stored).
 */
export async function checkFile(db: Db, stored: StoredFile, path: string): Promise<FileStatus> {
  let st;
  try {
    st = statSync(path);
  } catch {
    return setFileStatus(db, stored, 'missing');
  }
  if (!st.isFile()) return setFileStatus(db, stored, 'missing');
  if (st.size === stored.bytes && Math.round(st.mtimeMs) === stored.mtimeMs)
    return setFileStatus(db, stored, 'ok');
  let hash: string;
  try {
    hash = await sha256File(path);
  } catch {
    return setFileStatus(db, stored, 'missing');
  }
  if (hash !== stored.contentHash) return setFileStatus(db, stored, 'changed');
  db.prepare('UPDATE images SET bytes = ?, mtime_ms = ? WHERE id = ?').run(
    st.size,
    Math.round(st.mtimeMs),
    stored.id,
  );
  return setFileStatus(db, stored, 'ok');
}

/** Stores a photo's file status when it differs from the stored one; returns it. */
export function setFileStatus(
  db: Db,
  stored: Pick<StoredFile, 'id' | 'fileStatus'>,
  status: FileStatus,
): FileStatus {
  if (stored.fileStatus !== status)
    db.prepare('UPDATE images SET file_status = ? WHERE id = ?').run(status, stored.id);
  return status;
}
