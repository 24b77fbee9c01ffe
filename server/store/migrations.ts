/**
 * Schema migrations as code: an in-code MigrationProvider (no directory scan, so bundling or a
 * changed working directory cannot lose a migration). Each migration is written once with Kysely's
 * schema builder and branches on the dialect only where SQLite and PostgreSQL truly differ.
 *
 * Never edit a migration that has shipped; add the next one (`0002_…`). Names sort in run order.
 */
import { Migrator, PostgresAdapter, SqliteAdapter, sql, type Kysely, type Migration, type MigrationResult, type MigrationResultSet } from 'kysely';
import type { Database } from './sql-schema.ts';

export type SqlDialectName = 'sqlite' | 'postgres';

export function dialectOf(db: Kysely<Database>): SqlDialectName {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  if (adapter instanceof PostgresAdapter) return 'postgres';
  throw new Error('the store supports SQLite and PostgreSQL only');
}

function initial(dialect: SqlDialectName): Migration {
  // Bytewise text on PostgreSQL, as SQLite's default BINARY collation: ISO timestamps and ids then
  // sort and compare the same way on both, whatever the database's locale.
  const text = dialect === 'postgres' ? sql`text collate "C"` : 'text';
  const mmInRange = (column: string) => sql`${sql.ref(column)} between 0 and 100`;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('sessions')
        .addColumn('id', text, (col) => col.primaryKey())
        .addColumn('client_ref', text, (col) => col.notNull())
        .addColumn('therapist_ref', text)
        .addColumn('instrument', text, (col) => col.notNull())
        .addColumn('status', text, (col) => col.notNull())
        .addColumn('created_at', text, (col) => col.notNull())
        .addColumn('closed_at', text)
        .execute();
      await db.schema.createIndex('sessions_client_ref').on('sessions').column('client_ref').execute();

      await db.schema
        .createTable('results')
        .addColumn('submission_id', text, (col) => col.primaryKey())
        .addColumn('session_id', text, (col) => col.notNull().references('sessions.id'))
        .addColumn('instrument', text, (col) => col.notNull())
        .addColumn('relationship_mm', 'integer', (col) => col.notNull().check(mmInRange('relationship_mm')))
        .addColumn('goals_mm', 'integer', (col) => col.notNull().check(mmInRange('goals_mm')))
        .addColumn('approach_mm', 'integer', (col) => col.notNull().check(mmInRange('approach_mm')))
        .addColumn('overall_mm', 'integer', (col) => col.notNull().check(mmInRange('overall_mm')))
        .addColumn('total_mm', 'integer', (col) => col.notNull())
        .addColumn('band', text, (col) => col.notNull())
        .addColumn('flagged', text, (col) => col.notNull())
        .addColumn('entered_by', text, (col) => col.notNull())
        .addColumn('submitted_at', text, (col) => col.notNull())
        // One result per session, enforced by the database so concurrent saves cannot both win.
        .addUniqueConstraint('results_session_id_unique', ['session_id'])
        .execute();

      await db.schema
        .createTable('audit')
        .addColumn('id', 'integer', (col) => (dialect === 'sqlite' ? col.primaryKey().autoIncrement() : col.primaryKey().generatedAlwaysAsIdentity()))
        .addColumn('at', text, (col) => col.notNull())
        .addColumn('actor', text, (col) => col.notNull())
        .addColumn('action', text, (col) => col.notNull())
        .addColumn('session_id', text)
        .addColumn('client_ref', text)
        .execute();
      await db.schema.createIndex('audit_session_id').on('audit').column('session_id').execute();
      await db.schema.createIndex('audit_client_ref').on('audit').column('client_ref').execute();

      await db.schema
        .createTable('webhook_outbox')
        .addColumn('submission_id', text, (col) => col.primaryKey().references('results.submission_id'))
        .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('next_attempt_at', text, (col) => col.notNull())
        .addColumn('delivered_at', text)
        .addColumn('last_error', text)
        .execute();
      // Only undelivered rows are ever polled; the partial index stays small as deliveries pile up.
      await db.schema.createIndex('webhook_outbox_due').on('webhook_outbox').column('next_attempt_at').where(sql.ref('delivered_at'), 'is', null).execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('key_hash', text, (col) => col.primaryKey())
        .addColumn('label', text, (col) => col.notNull())
        .execute();
    },
  };
}

/** The client's choice to show marks live or only on submission, kept across restarts. */
const sessionVisibility: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('sessions')
      .addColumn('visibility', 'text', (col) => col.notNull().defaultTo('live'))
      .execute();
  },
};

/**
 * The tenant that no API key can be: a configured label never contains a colon (SRS_API_KEYS is
 * split at the first one, and ApiKeyRing refuses one), so sessions kept here are nobody's until
 * an operator gives them to a tenant (`update sessions set tenant = … where tenant = …`).
 */
export const UNATTRIBUTED_TENANT = 'system:unattributed';

/**
 * Tenants: each session belongs to the tenant (API key label) that created it, and a client's
 * history is looked up within a tenant. Audit entries carry the tenant whose data they concern.
 */
function tenants(dialect: SqlDialectName): Migration {
  const text = dialect === 'postgres' ? sql`text collate "C"` : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // The default is for rows written without a tenant, which only a node of the previous
      // release could still write: they fail closed, to no tenant, rather than to a guessed one.
      await db.schema
        .alterTable('sessions')
        .addColumn('tenant', text, (col) => col.notNull().defaultTo(UNATTRIBUTED_TENANT))
        .execute();
      // Every session so far was created through the API, and SessionService.create wrote an
      // audit entry `session.create` by `api:<label>` right after it: that label is its tenant.
      // A session without that entry (the process died between the two writes) belongs to the
      // only tenant the trail knows when there is exactly one: a single-key deployment keeps all
      // its sessions. With several, guessing could hand a client's data to another platform, so
      // such a session goes to no tenant (UNATTRIBUTED_TENANT) and the operator decides.
      await sql`
        update sessions set tenant = coalesce(
          (select substr(audit.actor, 5) from audit
            where audit.session_id = sessions.id and audit.action = 'session.create' and audit.actor like 'api:%'
            order by audit.id limit 1),
          (select case when count(distinct audit.actor) = 1 then substr(min(audit.actor), 5) end from audit
            where audit.action = 'session.create' and audit.actor like 'api:%'),
          ${UNATTRIBUTED_TENANT})
      `.execute(db);
      // History is read by tenant and client together; nothing reads by client alone any more.
      await db.schema.dropIndex('sessions_client_ref').execute();
      await db.schema.createIndex('sessions_tenant_client_ref').on('sessions').columns(['tenant', 'client_ref']).execute();

      await db.schema.alterTable('audit').addColumn('tenant', text).execute();
      // An API caller's entries belong to its label; a client's or therapist's to their session's
      // tenant; the server's own (`system`) to none.
      await sql`
        update audit set tenant = case
          when audit.actor like 'api:%' then substr(audit.actor, 5)
          else (select sessions.tenant from sessions where sessions.id = audit.session_id)
        end
      `.execute(db);
    },
  };
}

/**
 * API keys are checked against the configured keys' hashes in memory: a key removed from the
 * configuration must stop working at once, which a copy in the store defeated. The table has no
 * other use, and a hash kept on disk is one more thing to leak.
 */
const dropApiKeys: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('api_keys').execute();
  },
};

/** One row that /healthz rewrites: proof that the store can commit a write, not only read. */
function healthCheck(dialect: SqlDialectName): Migration {
  const text = dialect === 'postgres' ? sql`text collate "C"` : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('health_check')
        .addColumn('id', 'integer', (col) => col.primaryKey())
        .addColumn('checked_at', text, (col) => col.notNull())
        .execute();
    },
  };
}

export function migrationsFor(dialect: SqlDialectName): Record<string, Migration> {
  return {
    '0001_initial': initial(dialect),
    '0002_session_visibility': sessionVisibility,
    '0003_tenants': tenants(dialect),
    '0004_drop_api_keys': dropApiKeys,
    '0005_health_check': healthCheck(dialect),
  };
}

/**
 * Brings the schema up to date; run at start-up, before the store serves anything. Throws if any
 * migration fails (each runs in a transaction, so a failed one leaves nothing half-applied where
 * the dialect has transactional DDL, as both SQLite and PostgreSQL do).
 *
 * `schema` (PostgreSQL) keeps Kysely's bookkeeping tables in that schema; it must match the
 * connection's search_path, where the migrations create the tables.
 */
export async function migrateToLatest(db: Kysely<Database>, options: { schema?: string } = {}): Promise<void> {
  await migrate(db, options, (migrator) => migrator.migrateToLatest());
}

/**
 * Runs the migrations up to and including `name`, no further: a store as an earlier release left
 * it, for the tests of the migrations that follow.
 */
export async function migrateUpTo(db: Kysely<Database>, name: string, options: { schema?: string } = {}): Promise<void> {
  if (!(name in migrationsFor(dialectOf(db)))) throw new Error(`no migration named ${name}`);
  await migrate(db, options, (migrator) => migrator.migrateTo(name));
}

async function migrate(db: Kysely<Database>, options: { schema?: string }, run: (migrator: Migrator) => Promise<MigrationResultSet>): Promise<void> {
  const migrations = migrationsFor(dialectOf(db));
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(options.schema === undefined ? {} : { migrationTableSchema: options.schema }),
  });
  const { error, results } = await run(migrator);
  if (error !== undefined) {
    const failed = results?.find((result: MigrationResult) => result.status === 'Error')?.migrationName;
    throw new Error(failed ? `database migration ${failed} failed` : 'database migration failed', { cause: error });
  }
}
