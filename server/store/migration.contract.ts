/**
 * Upgrading a store written by the release before tenants: its schema is made by running only the
 * migrations that release shipped, filled with rows as it wrote them, then migrated to the latest.
 * Each dialect's test file runs this against its own database (SQLite, PostgreSQL).
 */
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../shared/protocol.ts';
import { createApp } from '../app.ts';
import { silentLogger } from '../logging.ts';
import { migrateToLatest, migrateUpTo, UNATTRIBUTED_TENANT } from './migrations.ts';
import type { Database } from './sql-schema.ts';
import { SqlStore } from './sql-store.ts';
import { at, makeResult } from './store.contract.ts';

/** The last migration of the release before tenants. */
const PREVIOUS_RELEASE = '0002_session_visibility';

export interface EmptyDatabase {
  readonly db: Kysely<Database>;
  /** PostgreSQL: the schema that holds the tables (and the migrations' bookkeeping). */
  readonly schema?: string;
  cleanup(): Promise<void>;
}

type OldSession = readonly [id: string, clientRef: string];
type OldAudit = readonly [actor: string, action: string, sessionId: string | null, clientRef: string | null];

/** Writes rows exactly as the previous release did, with its column lists. */
async function writeAsPreviousRelease(
  db: Kysely<Database>,
  sessions: readonly OldSession[],
  results: readonly Result[],
  audit: readonly OldAudit[],
): Promise<void> {
  for (const [id, clientRef] of sessions) {
    await sql`insert into sessions (id, client_ref, therapist_ref, instrument, status, created_at, closed_at, visibility)
      values (${id}, ${clientRef}, ${null}, 'srs', 'submitted', ${at(0)}, ${null}, 'live')`.execute(db);
  }
  for (const result of results) {
    const mm = Object.fromEntries(result.items.map((item) => [item.id, item.mm]));
    await sql`insert into results (submission_id, session_id, instrument, relationship_mm, goals_mm, approach_mm, overall_mm, total_mm, band, flagged, entered_by, submitted_at)
      values (${result.submissionId}, ${result.sessionId}, 'srs', ${mm['relationship']}, ${mm['goals']}, ${mm['approach']}, ${mm['overall']},
              ${result.totalMm}, ${result.band}, ${JSON.stringify(result.flagged)}, ${result.enteredBy}, ${result.submittedAt})`.execute(db);
    await sql`insert into webhook_outbox (submission_id, attempts, next_attempt_at, delivered_at, last_error)
      values (${result.submissionId}, 0, ${result.submittedAt}, ${null}, ${null})`.execute(db);
  }
  for (const [index, [actor, action, sessionId, clientRef]] of audit.entries()) {
    await sql`insert into audit (at, actor, action, session_id, client_ref) values (${at(index)}, ${actor}, ${action}, ${sessionId}, ${clientRef})`.execute(db);
  }
  await sql`insert into api_keys (key_hash, label) values (${'a'.repeat(64)}, 'clinic-a')`.execute(db);
}

async function count(db: Kysely<Database>, table: 'sessions' | 'results' | 'audit' | 'webhook_outbox'): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
  return Number(rows[0]?.n);
}

export function describeTenantMigration(name: string, makeDatabase: () => Promise<EmptyDatabase>): void {
  describe(`${name}: upgrading a store of the release before tenants`, () => {
    it('gives each session the tenant of its creator, keeps every row, and drops the stored API keys', async () => {
      const { db, schema, cleanup } = await makeDatabase();
      const options = schema === undefined ? {} : { schema };
      try {
        await migrateUpTo(db, PREVIOUS_RELEASE, options);
        const ofA = makeResult('s-a1', 'sub-a1', at(10), { goals: 11 });
        const ofB = makeResult('s-b1', 'sub-b1', at(20), { goals: 22 });
        await writeAsPreviousRelease(
          db,
          [
            ['s-a1', 'shared-1'],
            ['s-b1', 'shared-1'],
            ['s-a2', 'only-a'],
            ['s-orphan', 'shared-1'],
          ],
          [ofA, ofB],
          [
            ['system', 'startup', null, null],
            ['api:clinic-a', 'session.create', 's-a1', 'shared-1'],
            ['api:clinic-b', 'session.create', 's-b1', 'shared-1'],
            // Before tenants any key could read any session: a read is no claim of ownership.
            ['api:clinic-b', 'session.read', 's-a2', 'only-a'],
            ['api:clinic-a', 'session.create', 's-a2', 'only-a'],
            ['client:s-a1', 'result.store', 's-a1', 'shared-1'],
            ['api:clinic-b', 'results.read', null, 'shared-1'],
            // s-orphan has no session.create: the process died between the two writes.
          ],
        );
        const before = {
          sessions: await count(db, 'sessions'),
          results: await count(db, 'results'),
          audit: await count(db, 'audit'),
          outbox: await count(db, 'webhook_outbox'),
        };

        await migrateToLatest(db, options);
        const store = new SqlStore(db);

        expect(await count(db, 'sessions')).toBe(before.sessions);
        expect(await count(db, 'results')).toBe(before.results);
        expect(await count(db, 'audit')).toBe(before.audit);
        expect(await count(db, 'webhook_outbox')).toBe(before.outbox);
        expect((await store.getSession('s-a1'))?.tenant).toBe('clinic-a');
        expect((await store.getSession('s-b1'))?.tenant).toBe('clinic-b');
        expect((await store.getSession('s-a2'))?.tenant).toBe('clinic-a');
        // Two tenants in the trail: an orphan is given to neither.
        expect((await store.getSession('s-orphan'))?.tenant).toBe(UNATTRIBUTED_TENANT);
        expect(await store.getResult('s-a1')).toEqual(ofA);
        expect(await store.listClientResults('clinic-a', 'shared-1')).toEqual([ofA]);
        expect(await store.listClientResults('clinic-b', 'shared-1')).toEqual([ofB]);
        expect(await store.hasClient('clinic-b', 'only-a')).toBe(false);
        expect((await store.listDueWebhooks(at(99), 10)).map((due) => due.submissionId)).toEqual(['sub-a1', 'sub-b1']);

        expect((await store.listAudit({ tenant: 'clinic-a' })).map((entry) => [entry.actor, entry.action])).toEqual([
          ['api:clinic-a', 'session.create'],
          ['api:clinic-a', 'session.create'],
          ['client:s-a1', 'result.store'],
        ]);
        expect((await store.listAudit({ tenant: 'clinic-b' })).map((entry) => entry.action)).toEqual(['session.create', 'session.read', 'results.read']);
        expect((await store.listAudit({})).find((entry) => entry.actor === 'system')?.tenant).toBeNull();

        await expect(sql`select key_hash from api_keys`.execute(db)).rejects.toThrow();
        await expect(store.checkHealth()).resolves.toBeUndefined();
        await store.createSession({
          id: 's-new',
          tenant: 'clinic-b',
          clientRef: 'shared-1',
          therapistRef: null,
          instrument: 'srs',
          status: 'waiting',
          createdAt: at(30),
        });
        expect((await store.getSession('s-new'))?.tenant).toBe('clinic-b');
      } finally {
        await cleanup();
      }
    });

    it('keeps a single-key deployment working: its key reads every session it had, an orphan included', async () => {
      const { db, schema, cleanup } = await makeDatabase();
      const options = schema === undefined ? {} : { schema };
      try {
        await migrateUpTo(db, PREVIOUS_RELEASE, options);
        const first = makeResult('s-1', 'sub-1', at(10));
        const orphan = makeResult('s-orphan', 'sub-orphan', at(20), { goals: 5 });
        await writeAsPreviousRelease(
          db,
          [
            ['s-1', 'client-7f3a'],
            ['s-orphan', 'client-7f3a'],
          ],
          [first, orphan],
          [['api:default', 'session.create', 's-1', 'client-7f3a']],
        );
        await migrateToLatest(db, options);

        const key = 'the-only-key-0123456789abcdef';
        const srs = await createApp({
          store: new SqlStore(db),
          tokenSecret: 'migration-test-secret-0123456789abcdef',
          apiKeys: [{ label: 'default', key }],
          logger: silentLogger(),
        });
        try {
          const { port } = await srs.listen(0, '127.0.0.1');
          const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${key}` } });
          for (const id of ['s-1', 's-orphan']) expect((await get(`/api/sessions/${id}`)).status, id).toBe(200);
          const listed = (await (await get('/api/clients/client-7f3a/results')).json()) as { results: Result[] };
          expect(listed.results).toEqual([first, orphan]);
        } finally {
          await srs.close();
        }
      } finally {
        await cleanup();
      }
    });
  });
}
