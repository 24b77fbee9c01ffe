/**
 * The tables of the SQL store, as Kysely sees them. Column names are snake_case; the store maps
 * them to the camelCase records of store.ts. Timestamps are ISO 8601 text (UTC, `Z`), so they
 * round-trip exactly and sort as text; on PostgreSQL text columns use the "C" collation so sorting
 * and comparison are bytewise, as on SQLite. Millimetres are integers, never floats.
 */
import type { Generated } from 'kysely';
import type { InstrumentId } from '../../shared/instruments.ts';
import type { EnteredBy, SessionStatus, Visibility } from '../../shared/protocol.ts';
import type { Band } from '../../shared/scoring.ts';

export interface SessionsTable {
  id: string;
  /** Added by migration 0003. Always written by the store, though the column has a default. */
  tenant: string;
  client_ref: string;
  therapist_ref: string | null;
  instrument: InstrumentId;
  status: SessionStatus;
  /** Added by migration 0002; defaults to 'live'. */
  visibility: Generated<Visibility>;
  created_at: string;
  closed_at: string | null;
}

/** One row per result; a session has at most one (session_id is unique). */
export interface ResultsTable {
  submission_id: string;
  session_id: string;
  instrument: InstrumentId;
  relationship_mm: number;
  goals_mm: number;
  approach_mm: number;
  overall_mm: number;
  total_mm: number;
  band: Band;
  /** JSON array of item ids, in the order scoring produced them. */
  flagged: string;
  entered_by: EnteredBy;
  submitted_at: string;
}

export interface AuditTable {
  id: Generated<number>;
  at: string;
  actor: string;
  action: string;
  /** Added by migration 0003; null for the server's own entries. */
  tenant: string | null;
  session_id: string | null;
  client_ref: string | null;
}

/** A result's webhook delivery: written with the result, marked when delivered. */
export interface WebhookOutboxTable {
  submission_id: string;
  attempts: number;
  next_attempt_at: string;
  delivered_at: string | null;
  last_error: string | null;
}

/** One row (id 1), rewritten by every health check (migration 0005). */
export interface HealthCheckTable {
  id: number;
  checked_at: string;
}

/** Kysely's own bookkeeping (kysely/migration's default table names). */
export interface KyselyMigrationTable {
  name: string;
  timestamp: string;
}

export interface KyselyMigrationLockTable {
  id: string;
  is_locked: Generated<number>;
}

export interface Database {
  sessions: SessionsTable;
  results: ResultsTable;
  audit: AuditTable;
  webhook_outbox: WebhookOutboxTable;
  health_check: HealthCheckTable;
  kysely_migration: KyselyMigrationTable;
  kysely_migration_lock: KyselyMigrationLockTable;
}
