/**
 * The store in SQL, one implementation for SQLite and PostgreSQL through Kysely. Open it with
 * openStore (open-store.ts), which also runs the migrations.
 */
import type { Kysely, Selectable } from 'kysely';
import { SRS_ITEM_IDS, type ItemId } from '../../shared/instruments.ts';
import type { Result, SessionStatus, Visibility } from '../../shared/protocol.ts';
import type { Database, ResultsTable, SessionsTable } from './sql-schema.ts';
import {
  AlreadySubmittedError,
  type AuditEntry,
  type AuditFilter,
  type NewSession,
  type PendingWebhook,
  type SavedResult,
  type SessionRecord,
  type Store,
} from './store.ts';

type ResultRow = Selectable<ResultsTable>;

const MM_COLUMNS = {
  relationship: 'relationship_mm',
  goals: 'goals_mm',
  approach: 'approach_mm',
  overall: 'overall_mm',
} as const satisfies Record<ItemId, keyof ResultsTable>;

const RESULT_COLUMNS = [
  'results.submission_id',
  'results.session_id',
  'results.instrument',
  'results.relationship_mm',
  'results.goals_mm',
  'results.approach_mm',
  'results.overall_mm',
  'results.total_mm',
  'results.band',
  'results.flagged',
  'results.entered_by',
  'results.submitted_at',
] as const;

export class SqlStore implements Store {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async createSession(session: NewSession): Promise<SessionRecord> {
    const row = await this.#db
      .insertInto('sessions')
      .values({
        id: session.id,
        tenant: session.tenant,
        client_ref: session.clientRef,
        therapist_ref: session.therapistRef,
        instrument: session.instrument,
        status: session.status,
        created_at: session.createdAt,
        closed_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSession(row);
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = await this.#db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toSession(row) : null;
  }

  async setSessionVisibility(id: string, visibility: Visibility): Promise<SessionRecord | null> {
    const row = await this.#db.updateTable('sessions').set({ visibility }).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? toSession(row) : null;
  }

  async setSessionStatus(id: string, status: SessionStatus, at: string): Promise<SessionRecord | null> {
    const row = await this.#db
      .updateTable('sessions')
      .set(status === 'closed' ? { status, closed_at: at } : { status })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? toSession(row) : null;
  }

  async saveResult(result: Result): Promise<SavedResult> {
    try {
      // Resolves after the commit: the caller may acknowledge as soon as this returns.
      return await this.#db.transaction().execute(async (trx) => {
        // One statement, one snapshot: read separately, a save committed between the two reads
        // would look like another submission for the session rather than this one's retry.
        const rows = await trx
          .selectFrom('results')
          .select(RESULT_COLUMNS)
          .where((eb) => eb.or([eb('submission_id', '=', result.submissionId), eb('session_id', '=', result.sessionId)]))
          .execute();
        const existing = rows.find((row) => row.submission_id === result.submissionId);
        if (existing) return { result: toResult(existing), created: false };
        if (rows.length > 0) throw new AlreadySubmittedError(result.sessionId);
        await trx.insertInto('results').values(toResultRow(result)).execute();
        await trx
          .insertInto('webhook_outbox')
          .values({ submission_id: result.submissionId, attempts: 0, next_attempt_at: result.submittedAt, delivered_at: null, last_error: null })
          .execute();
        return { result, created: true };
      });
    } catch (error) {
      // Two saves raced past the reads above and the other committed first. Its transaction is
      // over (PostgreSQL aborts ours on the violation), so read again outside it.
      if (!isUniqueViolation(error)) throw error;
      const existing = await this.#db.selectFrom('results').select(RESULT_COLUMNS).where('submission_id', '=', result.submissionId).executeTakeFirst();
      if (existing) return { result: toResult(existing), created: false };
      throw new AlreadySubmittedError(result.sessionId);
    }
  }

  async getResult(sessionId: string): Promise<Result | null> {
    const row = await this.#db.selectFrom('results').select(RESULT_COLUMNS).where('session_id', '=', sessionId).executeTakeFirst();
    return row ? toResult(row) : null;
  }

  async listClientResults(tenant: string, clientRef: string): Promise<Result[]> {
    const rows = await this.#db
      .selectFrom('results')
      .innerJoin('sessions', 'sessions.id', 'results.session_id')
      .select(RESULT_COLUMNS)
      .where('sessions.tenant', '=', tenant)
      .where('sessions.client_ref', '=', clientRef)
      .orderBy('results.submitted_at')
      .orderBy('results.submission_id')
      .execute();
    return rows.map(toResult);
  }

  async hasClient(tenant: string, clientRef: string): Promise<boolean> {
    const row = await this.#db.selectFrom('sessions').select('id').where('tenant', '=', tenant).where('client_ref', '=', clientRef).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.#db
      .insertInto('audit')
      .values({ at: entry.at, actor: entry.actor, action: entry.action, tenant: entry.tenant, session_id: entry.sessionId, client_ref: entry.clientRef })
      .execute();
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    let query = this.#db.selectFrom('audit').select(['actor', 'action', 'tenant', 'session_id', 'client_ref', 'at']).orderBy('id');
    if (filter.tenant !== undefined) query = query.where('tenant', '=', filter.tenant);
    if (filter.sessionId !== undefined) query = query.where('session_id', '=', filter.sessionId);
    if (filter.clientRef !== undefined) query = query.where('client_ref', '=', filter.clientRef);
    const rows = await query.execute();
    return rows.map((row) => ({ actor: row.actor, action: row.action, tenant: row.tenant, sessionId: row.session_id, clientRef: row.client_ref, at: row.at }));
  }

  async listDueWebhooks(now: string, limit: number): Promise<PendingWebhook[]> {
    const rows = await this.#db
      .selectFrom('webhook_outbox')
      .innerJoin('results', 'results.submission_id', 'webhook_outbox.submission_id')
      .select([...RESULT_COLUMNS, 'webhook_outbox.attempts'])
      .where('webhook_outbox.delivered_at', 'is', null)
      .where('webhook_outbox.next_attempt_at', '<=', now)
      .orderBy('webhook_outbox.next_attempt_at')
      .orderBy('webhook_outbox.submission_id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ submissionId: row.submission_id, attempts: row.attempts, result: toResult(row) }));
  }

  async markWebhookDelivered(submissionId: string, at: string): Promise<void> {
    await this.#db.updateTable('webhook_outbox').set({ delivered_at: at }).where('submission_id', '=', submissionId).execute();
  }

  async rescheduleWebhook(submissionId: string, attempts: number, nextAttemptAt: string, lastError: string): Promise<void> {
    await this.#db
      .updateTable('webhook_outbox')
      .set({ attempts, next_attempt_at: nextAttemptAt, last_error: lastError })
      .where('submission_id', '=', submissionId)
      .execute();
  }

  async checkHealth(): Promise<void> {
    // An upsert that changes the row every time: a write the database must really commit.
    await this.#db
      .insertInto('health_check')
      .values({ id: 1, checked_at: new Date().toISOString() })
      .onConflict((conflict) => conflict.column('id').doUpdateSet({ checked_at: (eb) => eb.ref('excluded.checked_at') }))
      .execute();
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}

/** SQLite (better-sqlite3) and PostgreSQL (pg) report a unique or primary-key violation so. */
function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const { code } = error;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function toSession(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    clientRef: row.client_ref,
    therapistRef: row.therapist_ref,
    instrument: row.instrument,
    status: row.status,
    visibility: row.visibility,
    createdAt: row.created_at,
    closedAt: row.closed_at,
  };
}

function toResultRow(result: Result): ResultRow {
  const mm = new Map(result.items.map((item) => [item.id, item.mm]));
  const mmOf = (id: ItemId): number => {
    const value = mm.get(id);
    if (value === undefined || result.items.length !== SRS_ITEM_IDS.length) {
      throw new RangeError(`result ${result.submissionId} must have each item exactly once`);
    }
    return value;
  };
  return {
    submission_id: result.submissionId,
    session_id: result.sessionId,
    instrument: result.instrument,
    relationship_mm: mmOf('relationship'),
    goals_mm: mmOf('goals'),
    approach_mm: mmOf('approach'),
    overall_mm: mmOf('overall'),
    total_mm: result.totalMm,
    band: result.band,
    flagged: JSON.stringify(result.flagged),
    entered_by: result.enteredBy,
    submitted_at: result.submittedAt,
  };
}

function toResult(row: ResultRow): Result {
  return {
    sessionId: row.session_id,
    submissionId: row.submission_id,
    instrument: row.instrument,
    // Scoring emits items in instrument order; rebuilding in that order round-trips exactly.
    items: SRS_ITEM_IDS.map((id) => ({ id, mm: row[MM_COLUMNS[id]] })),
    totalMm: row.total_mm,
    band: row.band,
    flagged: parseFlagged(row.flagged),
    enteredBy: row.entered_by,
    submittedAt: row.submitted_at,
  };
}

function parseFlagged(text: string): ItemId[] {
  const parsed: unknown = JSON.parse(text);
  const ids: readonly string[] = SRS_ITEM_IDS;
  if (!Array.isArray(parsed) || !parsed.every((id): id is ItemId => typeof id === 'string' && ids.includes(id))) {
    throw new Error(`stored flagged items are malformed: ${text}`);
  }
  return parsed;
}
