/**
 * Stores that can read but not write, for tests of what the server does when writes fail (a full
 * disk, a database in read-only mode). They are the real SqlStore over a real connection that the
 * database itself keeps from writing: nothing is simulated.
 */
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { SQLITE_FILE_NAME } from '../store/open-store.ts';
import type { Database } from '../store/sql-schema.ts';
import { SqlStore } from '../store/sql-store.ts';

/**
 * An SQLite store over the file that openStore made in `dataDir` (so migrated), whose connection
 * refuses writes while `readOnly(true)`: `PRAGMA query_only`, which fails every write with
 * SQLITE_READONLY as a read-only file or a full disk would, and lets reads through.
 */
export function sqliteStoreWithSwitch(dataDir: string): { store: SqlStore; readOnly(on: boolean): void } {
  const database = new SqliteDatabase(join(dataDir, SQLITE_FILE_NAME));
  database.pragma('busy_timeout = 5000');
  const store = new SqlStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }));
  return { store, readOnly: (on) => void database.pragma(`query_only = ${on ? 'ON' : 'OFF'}`) };
}

/**
 * A PostgreSQL store over a schema that openStore already migrated, whose every transaction is
 * read-only (`default_transaction_read_only`): PostgreSQL itself refuses each write.
 */
export function readOnlyPostgresStore(connectionString: string, schema: string): SqlStore {
  const pool = new pg.Pool({ connectionString, options: `-c search_path=${schema} -c default_transaction_read_only=on` });
  return new SqlStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
}
