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
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every migration above the database's user_version, each atomically. */
export function migrate(db: Db, migrations: Migration[] = MIGRATIONS, upTo = Infinity): number {
  const current = schemaVersion(db);
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  if (current > latest) {
    throw unavailable(`database schema v${current} is newer than this Plumage (v${latest}); update Plumage`);
  }
  for (const m of migrations) {
    if (m.version <= current || m.version > upTo) continue;
    // foreign_keys cannot change inside a transaction: switched around it.
    if (m.rebuildsTable) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(m.sql);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length) throw new Error(`migration ${m.version} would break ${broken.length} references`);
        db.pragma(`user_version = ${m.version}`);
      })();
    } finally {
      if (m.rebuildsTable) db.pragma('foreign_keys = ON');
    }
  }
  return schemaVersion(db);
}

/** Runs fn in a transaction; better-sqlite3 transactions nest as savepoints. */
export function tx<T>(db: Db, fn: () => T): T {
  return db.transaction(fn)();
}
