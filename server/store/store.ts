/**
 * The store: everything srs-live keeps. Implemented in SQL (SQLite by default, PostgreSQL for
 * scale) by sql-store.ts, and in memory by memory-store.ts for quick unit tests.
 *
 * Rules every implementation keeps:
 * - saveResult resolves only once the result is durable (committed); the caller acknowledges after.
 * - submissionId is unique: saving the same submissionId again returns the stored result and
 *   stores nothing new (`created: false`).
 * - A session holds at most one result: a different submissionId for a session that already has
 *   one is refused with AlreadySubmittedError.
 * - A session belongs to one tenant (the label of the API key that created it). A client is a
 *   clientRef within a tenant: the same clientRef under two tenants is two clients.
 */
import type { InstrumentId } from '../../shared/instruments.ts';
import type { Result, SessionStatus, Visibility } from '../../shared/protocol.ts';

export interface SessionRecord {
  readonly id: string;
  /** The tenant that created it: the label of its API key (`demo` for the demo page). */
  readonly tenant: string;
  readonly clientRef: string;
  readonly therapistRef: string | null;
  readonly instrument: InstrumentId;
  readonly status: SessionStatus;
  /** Whether the therapist sees the marks as they are made (`live`) or only the result. */
  readonly visibility: Visibility;
  /** ISO 8601 timestamps. */
  readonly createdAt: string;
  readonly closedAt: string | null;
}

export interface NewSession {
  readonly id: string;
  readonly tenant: string;
  readonly clientRef: string;
  readonly therapistRef: string | null;
  readonly instrument: InstrumentId;
  readonly status: SessionStatus;
  readonly createdAt: string;
}

export interface SavedResult {
  readonly result: Result;
  /** False when the submissionId was already stored (a retry). */
  readonly created: boolean;
}

export interface AuditEntry {
  /** Who acted: `api:<key label>`, `client:<sessionId>`, `therapist:<sessionId>`, `system`. */
  readonly actor: string;
  /** What was done, e.g. `session.create`, `result.store`, `results.read`, `results.export.csv`. */
  readonly action: string;
  /** Whose data it concerns; null for the server's own entries. */
  readonly tenant: string | null;
  readonly sessionId: string | null;
  readonly clientRef: string | null;
  readonly at: string;
}

/** Entries matching every given field. */
export interface AuditFilter {
  readonly tenant?: string;
  readonly sessionId?: string;
  readonly clientRef?: string;
}

/** A stored result whose webhook delivery is still owed. */
export interface PendingWebhook {
  readonly submissionId: string;
  /** Failed attempts so far. */
  readonly attempts: number;
  readonly result: Result;
}

export class AlreadySubmittedError extends Error {
  constructor(readonly sessionId: string) {
    super('this session already has a result');
    this.name = 'AlreadySubmittedError';
  }
}

export interface Store {
  createSession(session: NewSession): Promise<SessionRecord>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** Sets the status; closing also sets closedAt. Resolves to the updated record, or null if unknown. */
  setSessionStatus(id: string, status: SessionStatus, at: string): Promise<SessionRecord | null>;
  setSessionVisibility(id: string, visibility: Visibility): Promise<SessionRecord | null>;
  saveResult(result: Result): Promise<SavedResult>;
  getResult(sessionId: string): Promise<Result | null>;
  /** The client's results within the tenant, oldest first (by submittedAt, then submissionId). */
  listClientResults(tenant: string, clientRef: string): Promise<Result[]>;
  /** Whether the tenant has ever had a session for this client. */
  hasClient(tenant: string, clientRef: string): Promise<boolean>;
  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  /**
   * Webhook outbox: saveResult enqueues every newly created result in the same transaction, so a
   * stored result is never without its pending delivery.
   */
  listDueWebhooks(now: string, limit: number): Promise<PendingWebhook[]>;
  markWebhookDelivered(submissionId: string, at: string): Promise<void>;
  rescheduleWebhook(submissionId: string, attempts: number, nextAttemptAt: string, lastError: string): Promise<void>;
  /**
   * Resolves once the store has committed a write (to a row of its own); rejects when it cannot
   * write. A read would succeed on a full disk or a read-only database, where every submission fails.
   */
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}
