/**
 * What this node knows of the sessions it serves: status and visibility (from the store), and the
 * client's live marks (only in memory: they are volatile by design, and the client re-sends them
 * after any reconnect). Loaded when a socket joins, so the hot path of a live mark reads memory only.
 */
import type { InstrumentId, ItemId } from '../../shared/instruments.ts';
import type { Result, SessionStatus, Visibility } from '../../shared/protocol.ts';
import { emptyMarks, marksOfItems } from '../../shared/scoring.ts';
import type { SessionService } from '../sessions.ts';

export interface LiveSession {
  readonly sessionId: string;
  readonly tenant: string;
  readonly clientRef: string;
  readonly instrument: InstrumentId;
  status: SessionStatus;
  visibility: Visibility;
  result: Result | null;
  /** The client's marks while the rating is open; the result's once submitted. */
  marks: Record<ItemId, number | null>;
}

export class LiveSessions {
  readonly #sessions = new Map<string, LiveSession>();

  constructor(private readonly service: SessionService) {}

  /** The session as the store has it now, keeping this node's live marks while it stays open. */
  async load(sessionId: string): Promise<LiveSession | null> {
    const current = await this.service.get(sessionId);
    if (!current) {
      this.#sessions.delete(sessionId);
      return null;
    }
    const { session, result } = current;
    const known = this.#sessions.get(sessionId);
    const marks = result ? marksOfItems(result.items) : session.status === 'open' && known ? known.marks : emptyMarks();
    const live: LiveSession = {
      sessionId,
      tenant: session.tenant,
      clientRef: session.clientRef,
      instrument: session.instrument,
      status: session.status,
      visibility: session.visibility,
      result,
      marks,
    };
    this.#sessions.set(sessionId, live);
    return live;
  }

  /** Synchronous read for the hot path; undefined when no socket of the session is on this node. */
  peek(sessionId: string): LiveSession | undefined {
    return this.#sessions.get(sessionId);
  }

  forget(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  get size(): number {
    return this.#sessions.size;
  }
}

export function markedCount(marks: Readonly<Record<ItemId, number | null>>): number {
  return Object.values(marks).filter((mm) => mm !== null).length;
}
