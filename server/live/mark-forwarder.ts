/**
 * Server-side coalescing of live marks. A client that drags faster than a screen refreshes would
 * otherwise make the server forward every position; the therapist needs only the latest position
 * of each line, at most once per frame. Each line has its own frame: the first move of a line
 * after a pause goes out at once (a move of another line never waits for it); further moves of
 * that line within the frame wait for the frame's end, and only the last one is sent.
 */
import type { ItemId } from '../../shared/instruments.ts';
import type { MarkMove } from '../../shared/protocol.ts';

export const FRAME_MS = 16;

interface LineFrame {
  /** When this line last forwarded a position (ms). */
  lastSentAt: number;
  /** The latest position not yet forwarded. */
  pending: MarkMove | null;
  timer: ReturnType<typeof setTimeout> | null;
}

type SessionFrames = Map<ItemId, LineFrame>;

export class MarkForwarder {
  readonly #sessions = new Map<string, SessionFrames>();

  constructor(
    private readonly send: (sessionId: string, mark: MarkMove) => void,
    private readonly frameMs = FRAME_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `mark`, when given, is sent as it is: the hot path then allocates no message of its own. */
  push(sessionId: string, item: ItemId, mm: number, mark?: MarkMove): void {
    let lines = this.#sessions.get(sessionId);
    if (!lines) {
      lines = new Map();
      this.#sessions.set(sessionId, lines);
    }
    let line = lines.get(item);
    if (!line) {
      line = { lastSentAt: -Infinity, pending: null, timer: null };
      lines.set(item, line);
    }
    const now = this.now();
    if (line.timer === null && now - line.lastSentAt >= this.frameMs) {
      line.lastSentAt = now;
      this.send(sessionId, mark ?? { item, mm });
      return;
    }
    line.pending = mark ?? { item, mm };
    if (line.timer === null) this.#arm(sessionId, line, Math.max(0, line.lastSentAt + this.frameMs - now));
  }

  /** Drops what is pending for a session (its rating was submitted or withdrawn). */
  discard(sessionId: string): void {
    const lines = this.#sessions.get(sessionId);
    if (!lines) return;
    for (const line of lines.values()) if (line.timer) clearTimeout(line.timer);
    this.#sessions.delete(sessionId);
  }

  /** Forgets sessions idle for longer than a frame, so the map does not grow without bound. */
  sweep(): void {
    const now = this.now();
    for (const [sessionId, lines] of this.#sessions) {
      const idle = [...lines.values()].every((line) => line.timer === null && now - line.lastSentAt > this.frameMs);
      if (idle) this.#sessions.delete(sessionId);
    }
  }

  close(): void {
    for (const sessionId of [...this.#sessions.keys()]) this.discard(sessionId);
  }

  #arm(sessionId: string, line: LineFrame, wait: number): void {
    line.timer = setTimeout(() => this.#flush(sessionId, line), wait);
  }

  #flush(sessionId: string, line: LineFrame): void {
    // Timers may fire a little early by this clock (libuv measures from its cached loop time): wait out the frame.
    const early = line.lastSentAt + this.frameMs - this.now();
    if (early > 0) return this.#arm(sessionId, line, early);
    line.timer = null;
    const mark = line.pending;
    line.pending = null;
    if (mark === null) return;
    line.lastSentAt = this.now();
    this.send(sessionId, mark);
  }
}
