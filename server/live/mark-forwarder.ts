/**
 * Server-side coalescing of live marks. A client that drags faster than a screen refreshes would
 * otherwise make the server forward every position; the therapist needs only the latest position
 * of each line, at most once per frame. The first move after a pause goes out at once; moves
 * within the same frame wait for the frame's end and only the last value per line is sent.
 */
import type { ItemId } from '../../shared/instruments.ts';
import type { MarkMove } from '../../shared/protocol.ts';

export const FRAME_MS = 16;

interface PendingSession {
  /** When this session last forwarded anything (ms). */
  lastSentAt: number;
  /** Latest position per line not yet forwarded. */
  readonly pending: Map<ItemId, number>;
  timer: ReturnType<typeof setTimeout> | null;
}

export class MarkForwarder {
  readonly #sessions = new Map<string, PendingSession>();

  constructor(
    private readonly send: (sessionId: string, mark: MarkMove) => void,
    private readonly frameMs = FRAME_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(sessionId: string, item: ItemId, mm: number): void {
    let session = this.#sessions.get(sessionId);
    const now = this.now();
    if (!session) {
      session = { lastSentAt: -Infinity, pending: new Map(), timer: null };
      this.#sessions.set(sessionId, session);
    }
    if (session.timer === null && now - session.lastSentAt >= this.frameMs) {
      session.lastSentAt = now;
      this.send(sessionId, { item, mm });
      return;
    }
    session.pending.set(item, mm);
    if (session.timer === null) {
      const wait = Math.max(0, session.lastSentAt + this.frameMs - now);
      session.timer = setTimeout(() => this.#flush(sessionId), wait);
    }
  }

  /** Drops what is pending for a session (its rating was submitted or withdrawn). */
  discard(sessionId: string): void {
    const session = this.#sessions.get(sessionId);
    if (session?.timer) clearTimeout(session.timer);
    this.#sessions.delete(sessionId);
  }

  /** Forgets sessions idle for longer than a frame, so the map does not grow without bound. */
  sweep(): void {
    const now = this.now();
    for (const [sessionId, session] of this.#sessions) {
      if (session.timer === null && now - session.lastSentAt > this.frameMs) this.#sessions.delete(sessionId);
    }
  }

  close(): void {
    for (const session of this.#sessions.values()) if (session.timer) clearTimeout(session.timer);
    this.#sessions.clear();
  }

  #flush(sessionId: string): void {
    const session = this.#sessions.get(sessionId);
    if (!session) return;
    // Timers may fire a little early by this clock (libuv measures from its cached loop time): wait out the frame.
    const early = session.lastSentAt + this.frameMs - this.now();
    if (early > 0) {
      session.timer = setTimeout(() => this.#flush(sessionId), early);
      return;
    }
    session.timer = null;
    session.lastSentAt = this.now();
    const pending = [...session.pending];
    session.pending.clear();
    for (const [item, mm] of pending) this.send(sessionId, { item, mm });
  }
}
