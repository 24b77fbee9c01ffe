/**
 * Opens the SQL store: PostgreSQL when a database URL is given, else an SQLite file under the data
 * directory. Runs the migrations before returning, so a store that opens is ready to serve.
 */
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import { ensurePrivateDir, ensurePrivateFile } from '../data-dir.ts';
import { migrateToLatest } from './migrations.ts';
import type { Database } from './sql-schema.ts';
import { SqlStore } from './sql-store.ts';
import type { Store } from './store.ts';

export interface OpenStoreOptions {
  /** A PostgreSQL connection string (`DATABASE_URL`); when set, SQLite is not used. */
  readonly databaseUrl?: string;
  /** Where the SQLite file lives. Default `./data`. */
  readonly dataDir?: string;
  /** The SQLite file, overriding `${dataDir}/srs-live.sqlite`; `':memory:'` for a throwaway store. */
  readonly sqliteFile?: string;
  /** PostgreSQL only: keep every table in this schema (created if missing), e.g. one per test run. */
  readonly pgSchema?: string;
}

export const SQLITE_FILE_NAME = 'srs-live.sqlite';

export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const db = options.databaseUrl ? await openPostgres(options.databaseUrl, options.pgSchema) : openSqlite(sqlitePath(options));
  try {
    await migrateToLatest(db, options.databaseUrl && options.pgSchema ? { schema: options.pgSchema } : {});
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new SqlStore(db);
}

function sqlitePath(options: OpenStoreOptions): string {
  if (options.sqliteFile !== undefined) return options.sqliteFile;
  const dir = options.dataDir ?? './data';
  ensurePrivateDir(dir);
  return join(dir, SQLITE_FILE_NAME);
}

function openSqlite(file: string): Kysely<Database> {
  // SQLite would create the file 0644; created 0600 first, it and its -wal and -shm stay private.
  // (':memory:' and '' are in-memory and temporary databases, not files.)
  if (file !== ':memory:' && file !== '') ensurePrivateFile(file);
  const database = new SqliteDatabase(file);
  // WAL with synchronous=FULL syncs the log on every commit: a result whose save has resolved
  // survives a killed process and a power cut. (NORMAL, the usual WAL pairing, may lose the last
  // commits on power loss, and we acknowledge a submission only once it is stored.)
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  return new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) });
}

async function openPostgres(connectionString: string, schema: string | undefined): Promise<Kysely<Database>> {
  // Loaded only for PostgreSQL: the embedded default does not carry the driver in its heap.
  const { default: pg } = await import('pg');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`pgSchema must be a plain lower-case identifier: ${schema}`);
  }
  if (schema !== undefined) {
    // Before the pool exists: every pooled connection then starts with the schema on its path.
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await client.query(`create schema if not exists ${schema}`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({ connectionString, ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }) });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * SQLite transactions that take the write lock up front (`begin immediate`). saveResult reads and
 * then writes; with a plain deferred `begin`, another process writing in between would make the
 * upgrade to a writer fail at once with SQLITE_BUSY instead of waiting out busy_timeout.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}
