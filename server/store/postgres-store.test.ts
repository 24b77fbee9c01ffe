/**
 * The store contract on a real PostgreSQL (DATABASE_URL, default a local `test` database). Each
 * store gets a fresh schema, dropped afterwards. Without a server the suite is skipped, unless CI
 * or SRS_REQUIRE_SERVICES=1 says the server must be there: then it fails.
 */
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { describeTenantMigration } from './migration.contract.ts';
import { openStore } from './open-store.ts';
import type { Database } from './sql-schema.ts';
import { describeStoreContract, makeResult, newSession, at } from './store.contract.ts';

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = Boolean(process.env['CI']) || process.env['SRS_REQUIRE_SERVICES'] === '1';
const shownUrl = databaseUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

async function withClient<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function unreachableReason(): Promise<string | null> {
  try {
    await withClient((client) => client.query('select 1'));
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const uniqueSchema = (): string => `srs_test_${process.pid}_${randomBytes(6).toString('hex')}`;

async function openInFreshSchema(): Promise<{ store: Awaited<ReturnType<typeof openStore>>; cleanup(): Promise<void> }> {
  const pgSchema = uniqueSchema();
  const dropSchema = () => withClient((client) => client.query(`drop schema if exists ${pgSchema} cascade`)).then(() => undefined);
  try {
    const store = await openStore({ databaseUrl, pgSchema });
    return {
      store,
      async cleanup() {
        await store.close();
        await dropSchema();
      },
    };
  } catch (error) {
    await dropSchema();
    throw error;
  }
}

const reason = await unreachableReason();

if (reason === null) {
  describeStoreContract('PostgreSQL', openInFreshSchema);

  describeTenantMigration('PostgreSQL', async () => {
    const schema = uniqueSchema();
    await withClient((client) => client.query(`create schema ${schema}`));
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, options: `-c search_path=${schema}` }) }),
    });
    return {
      db,
      schema,
      async cleanup() {
        await db.destroy();
        await withClient((client) => client.query(`drop schema if exists ${schema} cascade`));
      },
    };
  });

  describe('PostgreSQL schema', () => {
    it('keeps a result across close and reopen of the same schema', async () => {
      const pgSchema = uniqueSchema();
      try {
        const result = makeResult('s-1', 'sub-0001', at(10));
        const first = await openStore({ databaseUrl, pgSchema });
        await first.createSession(newSession('s-1', 'client-a'));
        await first.saveResult(result);
        await first.close();
        const reopened = await openStore({ databaseUrl, pgSchema });
        expect(await reopened.getResult('s-1')).toEqual(result);
        await reopened.close();
      } finally {
        await withClient((client) => client.query(`drop schema if exists ${pgSchema} cascade`));
      }
    });

    it('rejects a schema name that is not a plain identifier', async () => {
      await expect(openStore({ databaseUrl, pgSchema: 'x; drop table y' })).rejects.toThrow(/pgSchema/);
    });
  });
} else if (required) {
  describe('PostgreSQL', () => {
    it(`is required (CI or SRS_REQUIRE_SERVICES=1) but does not answer at ${shownUrl}`, () => {
      throw new Error(`PostgreSQL unreachable: ${reason}`);
    });
  });
} else {
  describe.skip(`PostgreSQL store: skipped, no PostgreSQL answers at ${shownUrl} (${reason}); set DATABASE_URL, or SRS_REQUIRE_SERVICES=1 to fail instead`, () => {
    it('runs the Store contract', () => {});
  });
}
