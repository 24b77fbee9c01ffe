/** A store that keeps everything in memory: for tests that do not need durability. */
import type { Result, SessionStatus, Visibility } from '../../shared/protocol.ts';
import {
  AlreadySubmittedError,
  type AuditEntry,
  type AuditFilter,
  type PendingWebhook,
  type NewSession,
  type SavedResult,
  type SessionRecord,
  type Store,
} from './store.ts';

export class MemoryStore implements Store {
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #resultsBySubmission = new Map<string, Result>();
  readonly #resultsBySession = new Map<string, Result>();
  readonly #audit: AuditEntry[] = [];
  readonly #outbox = new Map<string, { attempts: number; nextAttemptAt: string; deliveredAt: string | null }>();

  async createSession(session: NewSession): Promise<SessionRecord> {
    const record: SessionRecord = { ...session, visibility: 'live', closedAt: null };
    this.#sessions.set(record.id, record);
    return record;
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    return this.#sessions.get(id) ?? null;
  }

  async setSessionVisibility(id: string, visibility: Visibility): Promise<SessionRecord | null> {
    const current = this.#sessions.get(id);
    if (!current) return null;
    const updated: SessionRecord = { ...current, visibility };
    this.#sessions.set(id, updated);
    return updated;
  }

  async setSessionStatus(id: string, status: SessionStatus, at: string): Promise<SessionRecord | null> {
    const current = this.#sessions.get(id);
    if (!current) return null;
    const updated: SessionRecord = { ...current, status, closedAt: status === 'closed' ? at : current.closedAt };
    this.#sessions.set(id, updated);
    return updated;
  }

  async saveResult(result: Result): Promise<SavedResult> {
    const existing = this.#resultsBySubmission.get(result.submissionId);
    if (existing) return { result: existing, created: false };
    if (this.#resultsBySession.has(result.sessionId)) throw new AlreadySubmittedError(result.sessionId);
    this.#resultsBySubmission.set(result.submissionId, result);
    this.#resultsBySession.set(result.sessionId, result);
    this.#outbox.set(result.submissionId, { attempts: 0, nextAttemptAt: result.submittedAt, deliveredAt: null });
    return { result, created: true };
  }

  async getResult(sessionId: string): Promise<Result | null> {
    return this.#resultsBySession.get(sessionId) ?? null;
  }

  async listClientResults(tenant: string, clientRef: string): Promise<Result[]> {
    return [...this.#resultsBySession.values()]
      .filter((result) => {
        const session = this.#sessions.get(result.sessionId);
        return session?.tenant === tenant && session.clientRef === clientRef;
      })
      .sort((a, b) => compareBytes(a.submittedAt, b.submittedAt) || compareBytes(a.submissionId, b.submissionId));
  }

  async hasClient(tenant: string, clientRef: string): Promise<boolean> {
    for (const session of this.#sessions.values()) if (session.tenant === tenant && session.clientRef === clientRef) return true;
    return false;
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.#audit.push(entry);
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.#audit.filter(
      (entry) =>
        (filter.tenant === undefined || entry.tenant === filter.tenant) &&
        (filter.sessionId === undefined || entry.sessionId === filter.sessionId) &&
        (filter.clientRef === undefined || entry.clientRef === filter.clientRef),
    );
  }

  async listDueWebhooks(now: string, limit: number): Promise<PendingWebhook[]> {
    const due: PendingWebhook[] = [];
    for (const [submissionId, entry] of this.#outbox) {
      const result = this.#resultsBySubmission.get(submissionId);
      if (result && entry.deliveredAt === null && entry.nextAttemptAt <= now) due.push({ submissionId, attempts: entry.attempts, result });
    }
    return due.slice(0, limit);
  }

  async markWebhookDelivered(submissionId: string, at: string): Promise<void> {
    const entry = this.#outbox.get(submissionId);
    if (entry) entry.deliveredAt = at;
  }

  async rescheduleWebhook(submissionId: string, attempts: number, nextAttemptAt: string): Promise<void> {
    const entry = this.#outbox.get(submissionId);
    if (entry) Object.assign(entry, { attempts, nextAttemptAt });
  }

  /** Memory has nothing that could refuse a write. */
  async checkHealth(): Promise<void> {}

  async close(): Promise<void> {}
}

/** Orders strings by code unit, as the SQL stores do (`collate "C"`), whatever the locale. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
