/**
 * Sessions: the rules shared by the platform API and the live relay. The server is authoritative:
 * it recomputes every score from the marks and never trusts a total sent by anyone.
 */
import { randomUUID } from 'node:crypto';
import type { InstrumentId } from '../shared/instruments.ts';
import {
  ERROR_CODES,
  type CreateSessionResponse,
  type ProtocolError,
  type RatingSubmit,
  type Result,
  type Role,
  type SessionStatus,
  type Visibility,
} from '../shared/protocol.ts';
import { scoreRating, type ScoringOptions } from '../shared/scoring.ts';
import type { TokenSigner } from './tokens.ts';
import { AlreadySubmittedError, type SessionRecord, type Store } from './store/store.ts';

export interface SessionServiceOptions {
  readonly store: Store;
  readonly signer: TokenSigner;
  readonly scoring: ScoringOptions;
  /** Lifetime of join tokens unless a request asks for another, in seconds. */
  readonly defaultTokenTtlSeconds: number;
  /** Status of a new session: `open` shows the form at once, `waiting` until the therapist starts it. */
  readonly initialStatus: Extract<SessionStatus, 'waiting' | 'open'>;
  /** Called after a new result is durable (for webhooks); never awaited by the acknowledgement. */
  readonly onResultStored?: (result: Result) => void;
}

export interface NewSessionRequest {
  readonly clientRef: string;
  readonly therapistRef?: string | undefined;
  readonly instrument: InstrumentId;
  readonly tokenTtlSeconds?: number | undefined;
}

export type SubmitOutcome = { ok: true; result: Result; created: boolean } | { ok: false; error: ProtocolError };

export class SessionService {
  readonly #options: SessionServiceOptions;

  constructor(options: SessionServiceOptions) {
    this.#options = options;
  }

  get store(): Store {
    return this.#options.store;
  }

  /** Creates a session in the tenant of the caller (`owner.actor`, as the audit trail names it). */
  async create(request: NewSessionRequest, pageBaseUrl: string, owner: { readonly tenant: string; readonly actor: string }): Promise<CreateSessionResponse> {
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    const { tenant, actor } = owner;
    await this.store.createSession({
      id,
      tenant,
      clientRef: request.clientRef,
      therapistRef: request.therapistRef ?? null,
      instrument: request.instrument,
      status: this.#options.initialStatus,
      createdAt,
    });
    await this.store.appendAudit({ actor, action: 'session.create', tenant, sessionId: id, clientRef: request.clientRef, at: createdAt });
    const ttl = request.tokenTtlSeconds ?? this.#options.defaultTokenTtlSeconds;
    const [client, therapist] = await Promise.all([this.#options.signer.sign(id, 'client', ttl), this.#options.signer.sign(id, 'therapist', ttl)]);
    return {
      sessionId: id,
      client: { token: client.token, url: `${pageBaseUrl}/client#token=${client.token}` },
      therapist: { token: therapist.token, url: `${pageBaseUrl}/therapist#token=${therapist.token}` },
    };
  }

  /** The session with its status made consistent with its result (a stored result means submitted). */
  async get(id: string): Promise<{ session: SessionRecord; result: Result | null } | null> {
    return this.#withResult(await this.store.getSession(id));
  }

  /**
   * As get, but null for a session of another tenant: to its callers it does not exist. Its result
   * is not even read, so that the answer takes as long as for a session that does not exist.
   */
  async getInTenant(id: string, tenant: string): Promise<{ session: SessionRecord; result: Result | null } | null> {
    const session = await this.store.getSession(id);
    return this.#withResult(session?.tenant === tenant ? session : null);
  }

  async #withResult(session: SessionRecord | null): Promise<{ session: SessionRecord; result: Result | null } | null> {
    if (!session) return null;
    const result = await this.store.getResult(session.id);
    const status = result && session.status !== 'closed' ? 'submitted' : session.status;
    return { session: { ...session, status }, result };
  }

  async setVisibility(id: string, visibility: Visibility): Promise<SessionRecord | null> {
    return this.store.setSessionVisibility(id, visibility);
  }

  async setStatus(id: string, status: SessionStatus): Promise<SessionRecord | null> {
    const current = await this.store.getSession(id);
    // Closing twice keeps the first closing time.
    if (current?.status === 'closed' && status === 'closed') return current;
    return this.store.setSessionStatus(id, status, new Date().toISOString());
  }

  /**
   * Stores a submission once it is durable. A retry with the same submissionId returns the
   * stored result; a new submission to a session that has one is refused.
   */
  async submit(sessionId: string, role: Role, payload: RatingSubmit): Promise<SubmitOutcome> {
    const current = await this.get(sessionId);
    if (!current) return refuse(ERROR_CODES.notFound, 'this session does not exist');
    const { session, result: stored } = current;
    if (stored) {
      if (stored.submissionId === payload.submissionId) return { ok: true, result: stored, created: false };
      return refuse(ERROR_CODES.alreadySubmitted, 'this session already has a result');
    }
    if (session.status === 'closed') return refuse(ERROR_CODES.sessionClosed, 'this session has ended');
    if (session.status === 'waiting' && role === 'client') {
      return refuse(ERROR_CODES.notOpen, 'the rating has not been started yet');
    }
    const score = scoreRating(payload.marks, this.#options.scoring);
    const result: Result = {
      sessionId,
      submissionId: payload.submissionId,
      instrument: session.instrument,
      items: score.items.map((item) => ({ id: item.id, mm: item.mm })),
      totalMm: score.totalMm,
      band: score.band,
      flagged: [...score.flagged],
      enteredBy: role,
      submittedAt: new Date().toISOString(),
    };
    try {
      const saved = await this.store.saveResult(result);
      // submissionIds are unique across sessions: another session's id is not this session's retry,
      // and answering with that session's result would disclose it.
      if (saved.result.sessionId !== sessionId) return refuse(ERROR_CODES.invalidPayload, 'this submissionId is already used: make a new one');
      if (saved.created) {
        await this.store.setSessionStatus(sessionId, 'submitted', result.submittedAt);
        await this.store.appendAudit({
          actor: `${role}:${sessionId}`,
          action: 'result.store',
          tenant: session.tenant,
          sessionId,
          clientRef: session.clientRef,
          at: result.submittedAt,
        });
        this.#options.onResultStored?.(saved.result);
      }
      return { ok: true, result: saved.result, created: saved.created };
    } catch (error) {
      if (error instanceof AlreadySubmittedError) return refuse(ERROR_CODES.alreadySubmitted, error.message);
      throw error;
    }
  }
}

function refuse(code: ProtocolError['code'], message: string): SubmitOutcome {
  return { ok: false, error: { code, message } };
}
