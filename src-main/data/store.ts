import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.ts';
import { unavailable } from '../util/errors.ts';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the workspace database: WAL journal, foreign keys on, schema
 * migrated to the latest version inside one transaction per migration.
 */
export function openDb(path: string, migrations: Migration[] = MIGRATIONS): Db {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    retryWhileBusy(() => db.pragma('journal_mode = WAL'));
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    retryWhileBusy(() => migrate(db, migrations));
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * SQLite can answer SQLITE_BUSY at once, without waiting out busy_timeout, when several
 * connections open a brand-new file together (seen with six processes starting on one new
 * workspace); a short retry settles it.
 */
function retryWhileBusy<T>(fn: () => T, tries = 20): T {
  for (let i = 1; ; i++) {
    try {
      return fn();
    } catch (e) {
      if (i >= tries || (e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25 * i);
    }
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies every migration above the database's user_version, each atomically. Several processes
 * may open one workspace at once (the app, a CLI command, a worker): each migration takes the
 * write lock first (BEGIN IMMEDIATE) and re-reads the version under it, so exactly one of them
 * applies it and the others skip it.
 */
export function migrate(db: Db, migrations: Migration[] = MIGRATIONS, upTo = Infinity): number {
  const current = schemaVersion(db);
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  if (current > latest) {
    throw unavailable(`database schema v${current} is newer than this Plumage (v${latest}); update Plumage`);
  }
  for (const m of migrations) {
    if (m.version <= current || m.version > upTo) continue;
    applyMigration(db, m);
  }
  return schemaVersion(db);
}

function applyMigration(db: Db, m: Migration): void {
  // foreign_keys cannot change inside a transaction: switched around it.
  if (m.rebuildsTable) db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      db.exec(m.sql);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length) throw new Error(`migration ${m.version} would break ${broken.length} references`);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  } finally {
    if (m.rebuildsTable) db.pragma('foreign_keys = ON');
  }
}

/** Runs fn in a transaction; better-sqlite3 transactions nest as savepoints. */
export function tx<T>(db: Db, fn: () => T): T {
  return db.transaction(fn)();
}
